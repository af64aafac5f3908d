import { deployedResource, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

/** Runtime controls and health of a resource deployed to the fixtures' fake agent. */
describeSeedScenarios('runtime', {
  'POST /resources/{resourceId}/runtime/stop': async () =>
    request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/stop`, json: {} }),
  'POST /resources/{resourceId}/runtime/start': async () =>
    request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/start`, json: {} }),
  'POST /resources/{resourceId}/runtime/restart': async () =>
    request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/restart`, json: {} }),
  'GET /resources/{resourceId}/health': async () => {
    const resourceId = await deployedResource();
    await request({ method: 'POST', url: `/resources/${resourceId}/runtime/restart`, json: {} });
    return request({ method: 'GET', url: `/resources/${resourceId}/health?mode=live` });
  },
  'GET /resources/{resourceId}/health-history': async () => {
    const resourceId = await deployedResource();
    await request({ method: 'POST', url: `/resources/${resourceId}/runtime/restart`, json: {} });
    // A live read is kept as an observation, like the periodic checks.
    await request({ method: 'GET', url: `/resources/${resourceId}/health?mode=live` });
    return request({ method: 'GET', url: `/resources/${resourceId}/health-history` });
  },
});
