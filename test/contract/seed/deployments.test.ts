import { expect } from 'vitest';
import { createDeployment, createLaterFailedDeployment, deploymentTarget, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios, describeSeedStreams } from './scenarios.js';

useSeedRig();

describeSeedStreams('deployments', {
  'GET /deployments/{deploymentId}/events/stream': async () =>
    request({
      method: 'GET',
      url: `/deployments/${(await createDeployment('failed')).id}/events/stream?untilTerminal=true`,
    }),
  'POST /deployments/stream': async () => {
    const { resourceId } = await createDeployment('failed');
    const resource = (await request({ method: 'GET', url: `/resources/${resourceId}` })).json().resource;
    const deployment = (await request({ method: 'GET', url: `/deployments?resourceId=${resourceId}` })).json().items[0];
    // A stream that follows until the end would wait for an agent: cancel it from the side once it has begun.
    setTimeout(() => {
      void request({ method: 'GET', url: `/deployments?resourceId=${resourceId}&status=planned` }).then(async (res) => {
        for (const d of res.json().items)
          await request({ method: 'POST', url: `/deployments/${d.id}/cancel`, json: { confirm: d.id } });
      });
    }, 500);
    return request({
      method: 'POST',
      url: '/deployments/stream',
      json: {
        projectId: resource.projectId,
        environmentId: resource.environmentId,
        resourceId,
        serverId: deployment.serverId,
      },
    });
  },
});

describeSeedScenarios('deployments', {
  'GET /deployments/count': async () => {
    await createDeployment();
    return request({ method: 'GET', url: '/deployments/count?status=planned' });
  },
  'GET /deployments': async () => {
    await createDeployment('failed');
    return request({ method: 'GET', url: '/deployments?limit=1' });
  },
  'POST /deployments': async () => request({ method: 'POST', url: '/deployments', json: await deploymentTarget() }),
  'GET /deployments/{deploymentId}': async () =>
    request({ method: 'GET', url: `/deployments/${(await createDeployment('failed')).id}` }),
  'GET /deployments/{deploymentId}/logs': async () =>
    request({ method: 'GET', url: `/deployments/${(await createDeployment('failed')).id}/logs` }),
  'GET /deployments/{deploymentId}/events': async () =>
    request({ method: 'GET', url: `/deployments/${(await createDeployment()).id}/events?historyLimit=10` }),
  'POST /deployments/{deploymentId}/cancel': async () => {
    const { id } = await createDeployment();
    return request({ method: 'POST', url: `/deployments/${id}/cancel`, json: { confirm: id } });
  },
  'POST /deployments/{deploymentId}/retry': async () =>
    request({ method: 'POST', url: `/deployments/${(await createDeployment('failed')).id}/retry`, json: {} }),
  'POST /deployments/{deploymentId}/rollback': async () => {
    const earlier = await createDeployment('succeeded');
    // A later deployment of the same resource, ended, to roll back from.
    const later = await createLaterFailedDeployment(earlier.id);
    return request({
      method: 'POST',
      url: `/deployments/${later}/rollback`,
      json: { rollbackCandidateDeploymentId: earlier.id },
    });
  },
  'GET /deployments/plan': async () => {
    // A deployment under way blocks the plan and a source without a version tag draws a warning, so the plan's
    // reason lists have items to compare.
    const { id, resourceId } = await createDeployment();
    const d = (await request({ method: 'GET', url: `/deployments/${id}` })).json().deployment;
    const source = await request({
      method: 'POST',
      url: `/resources/${resourceId}/source`,
      json: { source: { kind: 'docker-image', locator: 'busybox' } },
    });
    expect(source.statusCode, source.body).toBe(200);
    const ids = { projectId: d.projectId, environmentId: d.environmentId, resourceId, serverId: d.serverId };
    return request({ method: 'GET', url: `/deployments/plan?${new URLSearchParams(ids)}` });
  },
  'GET /deployments/{deploymentId}/recovery-readiness': async () => {
    const earlier = await createDeployment('succeeded');
    // A later deployment of the same resource that failed: retryable, with the earlier one to roll back to.
    const later = await createLaterFailedDeployment(earlier.id);
    return request({ method: 'GET', url: `/deployments/${later}/recovery-readiness` });
  },
  'POST /deployments/{deploymentId}/archive': async () => {
    const { id } = await createDeployment('failed');
    return request({ method: 'POST', url: `/deployments/${id}/archive`, json: { confirm: id } });
  },
  'POST /resources/{resourceId}/redeploy': async () => {
    const { resourceId } = await createDeployment('succeeded');
    return request({ method: 'POST', url: `/resources/${resourceId}/redeploy`, json: {} });
  },
});
