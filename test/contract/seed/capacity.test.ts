import { deployedServer, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

let policyId: string | undefined;

async function policy(): Promise<string> {
  if (policyId !== undefined) return policyId;
  const res = await request({
    method: 'POST',
    url: '/servers/capacity/policies',
    json: { scope: 'defaults', retentionDays: 7 },
  });
  policyId = res.json().id;
  return policyId!;
}

/** Server capacity through the fixtures' fake agent, prunes and prune policies (seed §1.4). */
describeSeedScenarios('capacity', {
  'GET /servers/{serverId}/capacity': async () =>
    request({ method: 'GET', url: `/servers/${await deployedServer()}/capacity` }),
  'POST /servers/{serverId}/capacity/prune': async () =>
    request({
      method: 'POST',
      url: `/servers/${await deployedServer()}/capacity/prune`,
      json: { before: '2026-01-01T00:00:00Z' },
    }),
  'POST /servers/capacity/policies': () =>
    request({ method: 'POST', url: '/servers/capacity/policies', json: { scope: 'organization', retentionDays: 1 } }),
  'GET /servers/capacity/policies': async () => {
    await policy();
    return request({ method: 'GET', url: '/servers/capacity/policies' });
  },
  'GET /servers/capacity/policies/{policyId}': async () =>
    request({ method: 'GET', url: `/servers/capacity/policies/${await policy()}` }),
});
