import { describe, expect, it } from 'vitest';
import { defaultGeneratedAccessPolicy, generatedHostname, templateProblem } from './generated-access.js';

const subject = {
  resourceId: 'res-01',
  resourceSlug: 'web',
  environmentName: 'Production',
  projectSlug: 'shop',
  serverHost: '203.0.113.7',
};

describe('generated access host names', () => {
  it('derive an sslip name from the resource slug, a stable tag and the server IPv4 address', () => {
    const first = generatedHostname(defaultGeneratedAccessPolicy, subject);
    expect(first).toMatchObject({ kind: 'hostname', providerKey: 'sslip' });
    const name = (first as { hostname: string }).hostname;
    expect(name).toMatch(/^web-[0-9a-f]{6}\.203\.0\.113\.7\.sslip\.io$/);
    expect(generatedHostname(defaultGeneratedAccessPolicy, subject)).toEqual(first);
    const other = generatedHostname(defaultGeneratedAccessPolicy, { ...subject, resourceId: 'res-02' });
    expect((other as { hostname: string }).hostname).not.toBe(name);
  });

  it('explain why no sslip name exists for a server registered by name', () => {
    expect(
      generatedHostname(defaultGeneratedAccessPolicy, { ...subject, serverHost: 'box.example.test' }),
    ).toMatchObject({ kind: 'unavailable', code: 'access_provider_needs_ipv4' });
  });

  it('render a custom template with the resource, environment and project slugs', () => {
    const policy = {
      mode: 'custom-template' as const,
      providerKey: null,
      templateRef: '{resource}-{environment}.apps.example.test',
    };
    expect(generatedHostname(policy, subject)).toEqual({
      kind: 'hostname',
      hostname: 'web-production.apps.example.test',
      providerKey: 'custom-template',
    });
  });

  it('give none when the policy is disabled', () => {
    expect(generatedHostname({ mode: 'disabled', providerKey: null, templateRef: null }, subject)).toEqual({
      kind: 'disabled',
    });
  });

  it('refuse templates with unknown placeholders or that render an invalid host name', () => {
    expect(templateProblem('{resource}.apps.example.test')).toBeNull();
    expect(templateProblem('{name}.apps.example.test')).toMatch(/unknown placeholder \{name\}/);
    expect(templateProblem('{resource}_x.example.test')).toMatch(/invalid label/);
    expect(templateProblem('{resource}')).toMatch(/two labels/);
    expect(templateProblem('{resource}.10.0.0.1')).toMatch(/numeric|IP/);
  });
});
