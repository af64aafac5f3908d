import { createServer, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

describeSeedScenarios('servers', {
  'GET /servers/count': async () => {
    await createServer();
    return request({ method: 'GET', url: '/servers/count' });
  },
  'GET /servers': async () => {
    await createServer({ enrolled: true, deactivated: true });
    return request({ method: 'GET', url: '/servers?limit=1' });
  },
  'POST /servers': () =>
    request({ method: 'POST', url: '/servers', json: { name: 'seed-create', host: 'h', providerKey: 'p' } }),
  'GET /servers/{serverId}': async () =>
    request({ method: 'GET', url: `/servers/${await createServer({ enrolled: true, deactivated: true })}` }),
  'DELETE /servers/{serverId}': async () => {
    const id = await createServer({ deactivated: true });
    return request({ method: 'DELETE', url: `/servers/${id}`, json: { confirmation: { serverId: id } } });
  },
  'POST /servers/{serverId}/rename': async () =>
    request({ method: 'POST', url: `/servers/${await createServer()}/rename`, json: { name: 'renamed' } }),
  'POST /servers/{serverId}/deactivate': async () =>
    request({ method: 'POST', url: `/servers/${await createServer()}/deactivate`, json: {} }),
  'GET /servers/{serverId}/delete-check': async () =>
    request({ method: 'GET', url: `/servers/${await createServer()}/delete-check` }),
  'POST /servers/{serverId}/credentials': async () =>
    request({
      method: 'POST',
      url: `/servers/${await createServer()}/credentials`,
      json: { credential: { kind: 'agent-enrollment' } },
    }),
  'POST /servers/{serverId}/connectivity-tests': async () =>
    request({ method: 'POST', url: `/servers/${await createServer()}/connectivity-tests` }),
  'POST /servers/connectivity-tests': () =>
    request({
      method: 'POST',
      url: '/servers/connectivity-tests',
      json: { server: { host: '127.0.0.1', providerKey: 'generic-ssh' } },
    }),
  'POST /servers/{serverId}/edge-proxy/configuration': async () =>
    request({
      method: 'POST',
      url: `/servers/${await createServer()}/edge-proxy/configuration`,
      json: { proxyKind: 'none' },
    }),
  'POST /servers/{serverId}/edge-proxy/bootstrap': async () =>
    request({ method: 'POST', url: `/servers/${await createServer()}/edge-proxy/bootstrap`, json: {} }),
});
