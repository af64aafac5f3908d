import { describe, expect, it } from 'vitest';
import { applyPayload, fakeDeploymentDeps, fakeSpec } from '../../../test/helpers/fake-deployment-deps.js';
import { applyDeployment } from './apply.js';
import { cancelDeployment } from './cancel.js';

const resource = 'res_shop';

describe('cancelDeployment on the fake engine', () => {
  it('aborts a deployment that is still running here, which then answers canceled', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    deps.containers.script('web:v1', { healthy: false });
    const spec = fakeSpec('web:v1', resource);
    const applying = applyDeployment(applyPayload(spec), deps);

    const outcome = await cancelDeployment({ deploymentId: spec.deploymentId }, deps);

    expect(outcome).toMatchObject({ result: { wasRunning: true, removedContainer: false } });
    expect(await applying).toMatchObject({ succeeded: false, errorCode: 'canceled' });
    expect(deps.containers.all()).toEqual([]);
  });

  it('removes the container a deployment that is no longer running left behind', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const spec = fakeSpec('web:v1', resource);
    await deps.containers.createAndStart(spec);

    const outcome = await cancelDeployment({ deploymentId: spec.deploymentId }, deps);

    expect(outcome).toEqual({
      succeeded: true,
      result: { deploymentId: spec.deploymentId, wasRunning: false, removedContainer: true },
    });
    expect(deps.containers.all()).toEqual([]);
  });

  it('leaves the container of a deployment the desired state names as a runtime', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const spec = fakeSpec('web:v1', resource);
    await deps.containers.createAndStart(spec);
    deps.desired.add(spec.deploymentId);

    const outcome = await cancelDeployment({ deploymentId: spec.deploymentId }, deps);

    expect(outcome).toMatchObject({ result: { wasRunning: false, removedContainer: false } });
    expect(deps.containers.all()).toHaveLength(1);
  });
});
