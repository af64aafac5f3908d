import { expect } from 'vitest';
import { createServer, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

describeSeedScenarios('default access domain policies', {
  'GET /default-access-domain-policies': async () => {
    const serverId = await createServer();
    const set = await request({
      method: 'POST',
      url: '/default-access-domain-policies',
      json: {
        scope: { kind: 'deployment-target', serverId },
        mode: 'custom-template',
        templateRef: '{resource}-{environment}.apps.example.test',
        providerKey: 'sslip',
      },
    });
    expect(set.statusCode, set.body).toBe(200);
    return request({ method: 'GET', url: '/default-access-domain-policies' });
  },
  'POST /default-access-domain-policies': () =>
    request({
      method: 'POST',
      url: '/default-access-domain-policies',
      json: { scope: { kind: 'system' }, mode: 'disabled' },
    }),
  'GET /default-access-domain-policies/show': async () => {
    const serverId = await createServer();
    const scope = { kind: 'deployment-target', serverId };
    const set = await request({
      method: 'POST',
      url: '/default-access-domain-policies',
      json: { scope, mode: 'provider', providerKey: 'sslip' },
    });
    expect(set.statusCode, set.body).toBe(200);
    return request({
      method: 'GET',
      url: `/default-access-domain-policies/show?scopeKind=deployment-target&serverId=${serverId}`,
    });
  },
});
