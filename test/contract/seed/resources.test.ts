import { createEnvironment, createResource, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

describeSeedScenarios('resources', {
  'GET /resources/count': async () => {
    await createResource();
    return request({ method: 'GET', url: '/resources/count' });
  },
  'GET /resources': async () => {
    await createResource();
    return request({ method: 'GET', url: '/resources?limit=5' });
  },
  'POST /resources': async () => {
    const { projectId, environmentId } = await createEnvironment();
    return request({ method: 'POST', url: '/resources', json: { projectId, environmentId, name: 'seed' } });
  },
  'GET /resources/{resourceId}': async () =>
    request({
      method: 'GET',
      url: `/resources/${await createResource()}?includeLatestDeployment=true&includeAccessSummary=true&includeProfileDiagnostics=true`,
    }),
  'DELETE /resources/{resourceId}': async () =>
    request({
      method: 'DELETE',
      url: `/resources/${await createResource()}`,
      json: { confirmation: { resourceSlug: 'contract-web' } },
    }),
  'POST /resources/{resourceId}/archive': async () =>
    request({ method: 'POST', url: `/resources/${await createResource()}/archive`, json: {} }),
  'POST /resources/{resourceId}/health-policy': async () =>
    request({ method: 'POST', url: `/resources/${await createResource()}/health-policy`, json: { healthCheck: {} } }),
  'POST /resources/{resourceId}/health-policy/reset': async () =>
    request({ method: 'POST', url: `/resources/${await createResource()}/health-policy/reset` }),
  'POST /resources/{resourceId}/network-profile': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/network-profile`,
      json: { networkProfile: { internalPort: 1 } },
    }),
  'POST /resources/{resourceId}/access-profile': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/access-profile`,
      json: { accessProfile: {} },
    }),
  'POST /resources/{resourceId}/runtime-profile': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/runtime-profile`,
      json: { runtimeProfile: {} },
    }),
  'POST /resources/{resourceId}/source': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/source`,
      json: {
        source: { kind: 'docker-image', locator: 'docker://busybox:1.36' },
        idempotencyKey: 'configure-source-1',
      },
    }),
});
