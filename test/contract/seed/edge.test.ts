import { deployedResource, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

describeSeedScenarios('edge proxy', {
  'GET /resources/{resourceId}/proxy-configuration': async () => {
    const resourceId = await deployedResource();
    const url = `/resources/${resourceId}/proxy-configuration?routeScope=latest&includeDiagnostics=true`;
    // The edge document reaches the (fake) agent just after the deployment succeeds.
    for (let i = 0; ; i++) {
      const res = await request({ method: 'GET', url });
      if (res.json().status === 'applied' || i === 50) return res;
      await new Promise((r) => setTimeout(r, 100));
    }
  },
});
