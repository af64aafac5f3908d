import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';

let t: TestApp;
let token: string;
let organizationId: string;
let serverId: string;
let otherServerId: string;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token, organizationId } = await t.bootstrap());
  const create = async (name: string) => {
    const res = await t.request({
      method: 'POST',
      url: '/servers',
      token,
      json: { name, host: '203.0.113.7', providerKey: 'generic-ssh' },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  serverId = await create('edge-1');
  otherServerId = await create('edge-2');
});
afterAll(async () => t?.close());

const configure = (json: Record<string, unknown>, as = token) =>
  t.request({ method: 'POST', url: '/default-access-domain-policies', token: as, json });
const show = (query: string, as = token) =>
  t.request({ method: 'GET', url: `/default-access-domain-policies/show${query}`, token: as });
const list = (as = token) => t.request({ method: 'GET', url: '/default-access-domain-policies', token: as });

describe('default access policies', () => {
  it('sets the system policy to the sslip provider and shows it', async () => {
    const res = await configure({ scope: { kind: 'system' }, mode: 'provider', providerKey: 'sslip' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().id).toMatch(/^dap-/);
    const shown = await show('');
    expect(shown.json()).toEqual({
      schemaVersion: 'default-access-domain-policies.show/v1',
      scope: { kind: 'system' },
      policy: {
        schemaVersion: 'default-access-domain-policies.policy/v1',
        id: res.json().id,
        scope: { kind: 'system' },
        mode: 'provider',
        providerKey: 'sslip',
        templateRef: null,
        updatedAt: expect.any(String),
      },
    });
  });

  it('keeps one policy per scope: setting a scope again replaces its policy and keeps its id', async () => {
    const scope = { kind: 'deployment-target', serverId };
    const first = await configure({ scope, mode: 'provider', providerKey: 'sslip' });
    const second = await configure({ scope, mode: 'custom-template', templateRef: '{resource}.apps.example.com' });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().id).toBe(first.json().id);
    const policy = (await show(`?scopeKind=deployment-target&serverId=${serverId}`)).json().policy;
    expect(policy).toMatchObject({
      scope,
      mode: 'custom-template',
      providerKey: null,
      templateRef: '{resource}.apps.example.com',
    });
    const rows = await t.orm.em
      .fork()
      .getConnection()
      .execute('select count(*)::int as n from default_access_policies where server_id = ?', [serverId]);
    expect(rows[0].n).toBe(1);
  });

  it('stays one policy when two clients set the same scope at the same moment', async () => {
    const scope = { kind: 'deployment-target', serverId: otherServerId };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => configure({ scope, mode: 'provider', providerKey: 'sslip' })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.json().id)).size).toBe(1);
  });

  it('accepts a providerKey with custom-template, and disabled without one', async () => {
    const scope = { kind: 'deployment-target', serverId: otherServerId };
    const templated = await configure({
      scope,
      mode: 'custom-template',
      templateRef: '{resource}.tpl.example.test',
      providerKey: 'sslip',
    });
    expect(templated.statusCode, templated.body).toBe(200);
    expect((await configure({ scope, mode: 'disabled' })).statusCode).toBe(200);
    const policy = (await show(`?scopeKind=deployment-target&serverId=${otherServerId}`)).json().policy;
    expect(policy).toMatchObject({ mode: 'disabled', providerKey: null, templateRef: null });
  });

  it.each([
    ['provider without a providerKey', { scope: { kind: 'system' }, mode: 'provider' }, 'providerKey'],
    ['an unknown provider', { scope: { kind: 'system' }, mode: 'provider', providerKey: 'nip' }, 'providerKey'],
    ['custom-template without a templateRef', { scope: { kind: 'system' }, mode: 'custom-template' }, 'templateRef'],
    [
      'a template that renders an invalid host name',
      { scope: { kind: 'system' }, mode: 'custom-template', templateRef: '{resource}_x.example.test' },
      'templateRef',
    ],
    [
      'a template with an unknown placeholder',
      { scope: { kind: 'system' }, mode: 'custom-template', templateRef: '{name}.example.test' },
      'templateRef',
    ],
    [
      'disabled with a providerKey',
      { scope: { kind: 'system' }, mode: 'disabled', providerKey: 'sslip' },
      'providerKey',
    ],
    [
      'a deployment-target scope without a serverId',
      { scope: { kind: 'deployment-target' }, mode: 'disabled' },
      'scope.serverId',
    ],
    [
      'a system scope with a serverId',
      { scope: { kind: 'system', serverId: 'srv-x' }, mode: 'disabled' },
      'scope.serverId',
    ],
    ['an unknown mode', { scope: { kind: 'system' }, mode: 'sometimes' }, 'mode'],
    ['an unknown scope kind', { scope: { kind: 'project' }, mode: 'disabled' }, 'scope.kind'],
    ['an unknown field', { scope: { kind: 'system' }, mode: 'disabled', colour: 'red' }, 'colour'],
  ])('refuses %s with VALIDATION_ERROR naming the field, with a hint', async (_name, body, field) => {
    const res = await configure(body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field });
    if (!['mode', 'scope.kind', 'colour'].includes(field)) expect(res.json().hint).toEqual(expect.any(String));
  });

  it('answers NOT_FOUND for an unknown server, on set and on show', async () => {
    const set = await configure({ scope: { kind: 'deployment-target', serverId: 'srv-nope' }, mode: 'disabled' });
    expect(set.statusCode).toBe(404);
    expect(set.json()).toMatchObject({ code: 'NOT_FOUND', field: 'scope.serverId' });
    expect((await show('?scopeKind=deployment-target&serverId=srv-nope')).statusCode).toBe(404);
    expect((await show('?scopeKind=deployment-target')).json()).toMatchObject({ field: 'serverId' });
  });

  it('shows policy null for a scope with nothing stored, and deletes a policy with its server', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/servers',
      token,
      json: { name: 'short-lived', host: 'h', providerKey: 'generic-ssh' },
    });
    const id = res.json().id;
    expect((await show(`?scopeKind=deployment-target&serverId=${id}`)).json().policy).toBeNull();
    await configure({ scope: { kind: 'deployment-target', serverId: id }, mode: 'disabled' });
    await t.request({ method: 'POST', url: `/servers/${id}/deactivate`, token, json: {} });
    await t.request({ method: 'DELETE', url: `/servers/${id}`, token, json: { confirmation: { serverId: id } } });
    const ids = (await list()).json().items.map((p: { scope: { serverId?: string } }) => p.scope.serverId);
    expect(ids).not.toContain(id);
  });

  it('lists every stored policy; a deploy token reads those of its servers and cannot set any', async () => {
    const all = (await list()).json();
    expect(all.schemaVersion).toBe('default-access-domain-policies.list/v1');
    expect(all.items.map((p: { scope: unknown }) => p.scope)).toEqual([
      { kind: 'system' },
      { kind: 'deployment-target', serverId },
      { kind: 'deployment-target', serverId: otherServerId },
    ]);
    const created = await t.request({
      method: 'POST',
      url: '/deploy-tokens',
      token,
      json: {
        organizationId,
        displayName: 'CI',
        scope: { deploymentTargetIds: [serverId], workflowCommands: ['deploy'] },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const ci = created.json().token;
    const seen = (await list(ci)).json().items.map((p: { scope: unknown }) => p.scope);
    expect(seen).toEqual([{ kind: 'system' }, { kind: 'deployment-target', serverId }]);
    expect((await show(`?scopeKind=deployment-target&serverId=${otherServerId}`, ci)).statusCode).toBe(403);
    expect((await configure({ scope: { kind: 'system' }, mode: 'disabled' }, ci)).statusCode).toBe(403);
  });
});
