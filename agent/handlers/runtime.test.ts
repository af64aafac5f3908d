import { describe, expect, it } from 'vitest';
import type { ContainerSpec } from '../../shared/deployment-command.js';
import type { RuntimeControlPayload } from '../../shared/runtime-command.js';
import {
  applyPayload,
  desiredRuntime,
  type FakeDeploymentDeps,
  fakeDeploymentDeps,
  fakeSpec,
} from '../../test/helpers/fake-deployment-deps.js';
import { applyDeployment } from './deployment/apply.js';
import { controlRuntime, inspectRuntime } from './runtime.js';

const resource = 'res_shop';

/** Where the proxy sends the resource's traffic now. */
async function upstream(deps: FakeDeploymentDeps) {
  return (await deps.proxy.current(resource))?.upstream;
}

async function deployed(deps: FakeDeploymentDeps, image = 'web:v1') {
  const spec = fakeSpec(image, resource);
  const outcome = await applyDeployment(applyPayload(spec), deps);
  if (!outcome.succeeded) throw new Error(`deploying ${image} failed: ${outcome.errorMessage}`);
  return { spec, containerId: outcome.result.containerId, containerName: outcome.result.containerName };
}

function control(spec: ContainerSpec, operation: RuntimeControlPayload['operation']): RuntimeControlPayload {
  const { state: _state, ...target } = desiredRuntime(spec);
  return { ...target, operation, stopGraceSeconds: 1 };
}

describe('controlRuntime on the fake engine', () => {
  it('stops the current container and answers stopped, without an access URL', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerId, containerName } = await deployed(deps);

    const outcome = await controlRuntime(control(spec, 'stop'), deps);

    expect(outcome).toEqual({ succeeded: true, result: { runtimeState: 'stopped', containerName, accessUrl: null } });
    expect(await deps.containers.inspect(containerId)).toMatchObject({ running: false, hostPorts: {} });
  });

  it('starts a stopped container and points the listener at its new port once it is healthy', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerId, containerName } = await deployed(deps);
    await controlRuntime(control(spec, 'stop'), deps);

    const outcome = await controlRuntime(control(spec, 'start'), deps);

    expect(outcome).toEqual({
      succeeded: true,
      result: { runtimeState: 'running', containerName, accessUrl: 'http://127.0.0.1:20000' },
    });
    const container = await deps.containers.inspect(containerId);
    expect(await upstream(deps)).toEqual({ host: container!.networkIp, port: 8080 });
  });

  it('restarts a running container: stop, then start on a new port, routed again', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerId, containerName } = await deployed(deps);
    const before = await upstream(deps);

    const outcome = await controlRuntime(control(spec, 'restart'), deps);

    expect(outcome).toMatchObject({ succeeded: true, result: { runtimeState: 'running' } });
    expect(deps.containers.calls.slice(-2)).toEqual([`stop ${containerName}`, `start ${containerName}`]);
    const ip = (await deps.containers.inspect(containerId))!.networkIp;
    expect(ip).not.toBe(before?.host);
    expect(await upstream(deps)).toEqual({ host: ip, port: 8080 });
  });

  it('answers container_start_failed, leaving the route alone, when the started container never becomes healthy', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec } = await deployed(deps);
    const routedTo = await upstream(deps);
    deps.containers.script('web:v1', { healthy: false });

    const outcome = await controlRuntime(control(spec, 'restart'), deps);

    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'container_start_failed' });
    expect(await upstream(deps)).toEqual(routedTo);
  });

  it('answers container_not_found for a deployment without a container here', async () => {
    const deps = fakeDeploymentDeps();

    const outcome = await controlRuntime(control(fakeSpec('web:v1', resource), 'start'), deps);

    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'container_not_found' });
  });
});

describe('inspectRuntime on the fake engine', () => {
  it('shows the running container, the route read back from the proxy and one passing probe', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerName } = await deployed(deps);
    const { state: _state, ...target } = desiredRuntime(spec);

    const outcome = await inspectRuntime(target, deps);

    expect(outcome).toMatchObject({
      succeeded: true,
      result: {
        container: { name: containerName, state: 'running', running: true, exitCode: null, restartCount: 0 },
        // Through the resolver the proxy dials the container's internal port.
        route: { listenPort: 20000, upstreamPort: 8080 },
        probe: { ok: true, detail: 'GET /healthz answered 200' },
      },
    });
  });

  it('shows a stopped container with its exit code and no probe', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const { spec, containerId } = await deployed(deps);
    deps.containers.stopByHand(containerId, 137);
    const { state: _state, ...target } = desiredRuntime(spec);

    const outcome = await inspectRuntime(target, deps);

    expect(outcome).toMatchObject({
      succeeded: true,
      result: { container: { state: 'exited', running: false, exitCode: 137 }, probe: null },
    });
  });

  it('answers no container for a deployment that has none here', async () => {
    const deps = fakeDeploymentDeps({ traffic: null });
    const { state: _state, ...target } = desiredRuntime(fakeSpec('web:v1', resource));

    const outcome = await inspectRuntime(target, deps);

    expect(outcome).toMatchObject({ succeeded: true, result: { container: null, route: null, probe: null } });
  });
});
