import { describe, expect, it } from 'vitest';
import { eventKind } from '../../shared/command-catalogue.js';
import { createLogger } from '../../shared/logger.js';
import type { DesiredRuntime } from '../../shared/runtime-command.js';
import {
  applyPayload,
  desiredRuntime,
  type FakeDeploymentDeps,
  fakeDeploymentDeps,
  fakeSpec,
} from '../../test/helpers/fake-deployment-deps.js';
import { berthLabels } from '../workloads/spec.js';
import { applyDeployment } from './deployment/apply.js';
import { reconcile } from './reconcile.js';

const resource = 'res_shop';
const log = createLogger({ level: 'silent', name: 'test' });

const reconciled = (deps: FakeDeploymentDeps, ...runtimes: DesiredRuntime[]) => reconcile({ runtimes }, deps, log);

const drifts = (deps: FakeDeploymentDeps) =>
  deps.events.flatMap((e) => (e.kind === eventKind.runtimeDrift ? [e.attributes] : []));

/** A deployment of `image` that went through, as the desired state would then name it. */
async function deployed(deps: FakeDeploymentDeps, image: string) {
  const spec = fakeSpec(image, resource);
  const outcome = await applyDeployment(applyPayload(spec), deps);
  if (!outcome.succeeded) throw new Error(`deploying ${image} failed: ${outcome.errorMessage}`);
  deps.events.length = 0;
  return { spec, containerId: outcome.result.containerId };
}

describe('reconcile on the fake engine', () => {
  it('starts a runtime stopped by hand again, moves its listener to the new port and reports the drift', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerId } = await deployed(deps, 'web:v1');
    const before = (await deps.proxy.current(resource))?.upstream;
    deps.containers.stopByHand(containerId, 137);

    await reconciled(deps, desiredRuntime(spec));

    const container = await deps.containers.inspect(containerId);
    expect(container).toMatchObject({ running: true });
    const after = (await deps.proxy.current(resource))?.upstream;
    expect(after).toEqual({ host: container!.networkIp, port: 8080 });
    expect(after).not.toEqual(before);
    expect(drifts(deps)).toEqual([
      {
        resourceId: resource,
        deploymentId: spec.deploymentId,
        drift: 'stopped',
        action: 'restarted',
        message: `Container ${container!.name} was stopped (exit code 137) outside Berth; started it again.`,
      },
    ]);
  });

  it('stops a runtime that runs although the resource should be stopped', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerId } = await deployed(deps, 'web:v1');

    await reconciled(deps, desiredRuntime(spec, 'stopped'));

    expect(await deps.containers.inspect(containerId)).toMatchObject({ running: false });
    expect(drifts(deps)).toMatchObject([{ drift: 'running', action: 'stopped' }]);
  });

  it('removes an older container of the resource than the desired one, reporting it as a leftover', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1', 'web:v2'] });
    const old = await deps.containers.createAndStart(fakeSpec('web:v1', resource));
    const current = await deps.containers.createAndStart(fakeSpec('web:v2', resource));
    const spec = fakeSpec('web:v2', resource, { deploymentId: current.deploymentId });

    await reconciled(deps, desiredRuntime(spec));

    expect(deps.containers.all().map((c) => c.id)).toEqual([current.id]);
    expect(drifts(deps)).toEqual([
      {
        resourceId: resource,
        deploymentId: current.deploymentId,
        drift: 'leftover',
        action: 'removed',
        message: `Removed container ${old.name} of an older deployment.`,
      },
    ]);
  });

  it('reports a runtime whose container was removed outside Berth, and creates nothing', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerId } = await deployed(deps, 'web:v1');
    deps.containers.removeByHand(containerId);

    await reconciled(deps, desiredRuntime(spec));

    expect(deps.containers.all()).toEqual([]);
    expect(drifts(deps)).toMatchObject([{ drift: 'missing', action: 'reported' }]);
  });

  it('leaves a resource alone while a deployment of it runs here', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1', 'web:v2'] });
    const { spec, containerId } = await deployed(deps, 'web:v1');
    deps.containers.stopByHand(containerId);
    const next = await deps.containers.createAndStart(fakeSpec('web:v2', resource));
    deps.running.set(next.deploymentId, new AbortController());

    await reconciled(deps, desiredRuntime(spec));

    expect(await deps.containers.inspect(containerId)).toMatchObject({ running: false });
    expect(deps.containers.all()).toHaveLength(2);
    expect(drifts(deps)).toEqual([]);
  });

  it('leaves a resource alone when it has a container newer than the one the document names', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1', 'web:v2'] });
    const { spec, containerId } = await deployed(deps, 'web:v1');
    deps.containers.stopByHand(containerId);
    await deps.containers.createAndStart(fakeSpec('web:v2', resource));

    await reconciled(deps, desiredRuntime(spec));

    expect(await deps.containers.inspect(containerId)).toMatchObject({ running: false });
    expect(deps.containers.all()).toHaveLength(2);
    expect(drifts(deps)).toEqual([]);
  });

  it('never touches a container without berth.managed, even one labelled with the resource', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec } = await deployed(deps, 'web:v1');
    const foreign = deps.containers.addForeign('someone-elses', { [berthLabels.resource]: resource });

    await reconciled(deps, desiredRuntime(spec));

    expect(deps.containers.all().map((c) => c.id)).toContain(foreign);
    expect(drifts(deps)).toEqual([]);
  });
});
