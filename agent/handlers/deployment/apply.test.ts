import { describe, expect, it } from 'vitest';
import { eventKind } from '../../../shared/command-catalogue.js';
import type { ContainerSpec } from '../../../shared/deployment-command.js';
import {
  applyPayload,
  type FakeDeploymentDeps,
  fakeDeploymentDeps,
  fakeSpec,
  fastHealth,
} from '../../../test/helpers/fake-deployment-deps.js';
import { proxyUnavailable } from '../../../test/helpers/recording-proxy.js';
import { applyDeployment } from './apply.js';
import { cancelDeployment } from './cancel.js';

const resource = 'res_shop';

/** Deploys `image` on `deps` and insists it succeeded; answers the spec and the result. */
async function deployed(deps: FakeDeploymentDeps, image: string, overrides: Partial<ContainerSpec> = {}) {
  const spec = fakeSpec(image, resource, overrides);
  const outcome = await applyDeployment(applyPayload(spec), deps);
  if (!outcome.succeeded) throw new Error(`deploying ${image} failed: ${outcome.errorMessage}`);
  deps.events.length = 0;
  return { spec, result: outcome.result };
}

function containerOf(deps: FakeDeploymentDeps, deploymentId: string) {
  return deps.containers.all().find((c) => c.deploymentId === deploymentId);
}

describe('applyDeployment on the fake engine', () => {
  it('starts the new container, switches traffic to it, then drains and removes the previous one', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1', 'web:v2'] });
    const v1 = await deployed(deps, 'web:v1');
    const spec = fakeSpec('web:v2', resource);
    let oldRunningAtSwitch: boolean | undefined;
    deps.onEvent = (event) => {
      if (event.kind === eventKind.deploymentProgress && event.attributes.eventType === 'traffic-switched')
        oldRunningAtSwitch = containerOf(deps, v1.spec.deploymentId)?.running;
    };

    const outcome = await applyDeployment(applyPayload(spec, { drainSeconds: 0.01 }), deps);

    const v2 = containerOf(deps, spec.deploymentId)!;
    expect(outcome).toEqual({
      succeeded: true,
      result: {
        containerId: v2.id,
        containerName: v2.name,
        accessUrl: 'http://127.0.0.1:20000',
        listenPort: 20000,
        trafficSwitch: 'caddy',
        replacedDeploymentIds: [v1.spec.deploymentId],
      },
    });
    expect(deps.progress()).toEqual([
      'deployment-started',
      'image-ready',
      'container-started',
      'health-check-passed',
      'verification-succeeded',
      'traffic-switched',
      'previous-stopped',
    ]);
    expect(v1.result.accessUrl).toBe('http://127.0.0.1:20000');
    // The proxy reaches the container on Berth's network at its internal port, not through a published port.
    expect((await deps.proxy.current(resource))?.upstream).toEqual({ host: v2.networkIp, port: 8080 });
    expect(oldRunningAtSwitch).toBe(true);
    expect(deps.containers.all().map((c) => c.deploymentId)).toEqual([spec.deploymentId]);
    expect(deps.containers.calls.slice(-2)).toEqual([
      `stop ${v1.result.containerName}`,
      `remove ${v1.result.containerName}`,
    ]);
    expect(deps.running.size).toBe(0);
  });

  it('pulls an image the engine lacks, with its progress in the deployment log', async () => {
    const deps = fakeDeploymentDeps({ registryImages: ['web:v1'] });
    const spec = fakeSpec('web:v1', resource);

    const outcome = await applyDeployment(applyPayload(spec), deps);

    expect(outcome.succeeded).toBe(true);
    const imageReady = deps.events.find(
      (e) => e.kind === eventKind.deploymentProgress && e.attributes.eventType === 'image-ready',
    );
    expect(imageReady?.attributes).toMatchObject({ summary: 'Pulled web:v1.' });
    const imageLines = deps.events.filter((e) => e.kind === eventKind.deploymentLog && e.attributes.phase === 'image');
    expect(imageLines.length).toBeGreaterThan(0);
  });

  it('resumes after an agent crash: the container the first attempt started is used, no second one is created', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    const spec = fakeSpec('web:v1', resource);
    const leftBehind = await deps.containers.createAndStart(spec);

    const outcome = await applyDeployment(applyPayload(spec), deps);

    expect(outcome).toMatchObject({ succeeded: true, result: { containerId: leftBehind.id } });
    expect(deps.progress()[0]).toBe('deployment-resumed');
    expect(deps.containers.calls.filter((call) => call.startsWith('create'))).toHaveLength(1);
    expect(deps.containers.all()).toHaveLength(1);
  });

  it('fails a never-healthy image with unhealthy, removing only the new container: the old one keeps running and routed', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1', 'web:broken'] });
    const v1 = await deployed(deps, 'web:v1');
    const routedTo = deps.proxy.upstreamOf(resource);
    deps.containers.script('web:broken', { healthy: false });

    const outcome = await applyDeployment(applyPayload(fakeSpec('web:broken', resource)), deps);

    expect(outcome).toEqual({
      succeeded: false,
      errorCode: 'unhealthy',
      errorMessage:
        'GET /healthz answered 503, expected 200; the new container was removed. The previous version keeps serving.',
    });
    expect(deps.progress()).toEqual([
      'deployment-started',
      'image-ready',
      'container-started',
      'health-check-attempt',
      'health-check-attempt',
    ]);
    expect(deps.containers.all()).toMatchObject([{ deploymentId: v1.spec.deploymentId, running: true }]);
    expect(deps.proxy.upstreamOf(resource)).toBe(routedTo);
    expect(deps.proxy.calls).toHaveLength(1);
  });

  it('fails an image that exits at once with exited, its exit code and output, and keeps the old version', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1', 'web:crash'] });
    const v1 = await deployed(deps, 'web:v1');
    deps.containers.script('web:crash', { exitCode: 3, output: ['!fatal: DATABASE_URL is not set'] });

    const outcome = await applyDeployment(applyPayload(fakeSpec('web:crash', resource)), deps);

    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'exited' });
    const { errorMessage } = outcome as { errorMessage: string };
    expect(errorMessage).toContain('the container exited with code 3');
    expect(errorMessage).toContain('fatal: DATABASE_URL is not set');
    expect(errorMessage).toContain('The previous version keeps serving.');
    const appLines = deps.events.filter(
      (e) => e.kind === eventKind.deploymentLog && e.attributes.source === 'application',
    );
    expect(appLines.map((e) => e.attributes)).toMatchObject([
      { level: 'warn', message: 'fatal: DATABASE_URL is not set' },
    ]);
    expect(deps.containers.all()).toMatchObject([{ deploymentId: v1.spec.deploymentId, running: true }]);
  });

  it('fails an image that is neither local nor in a registry with image_not_found, leaving no container', async () => {
    const deps = fakeDeploymentDeps();

    const outcome = await applyDeployment(applyPayload(fakeSpec('web:nowhere', resource)), deps);

    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'image_not_found' });
    expect((outcome as { errorMessage: string }).errorMessage).toContain('web:nowhere');
    expect(deps.containers.all()).toEqual([]);
    expect(deps.containers.calls).toEqual([]);
  });

  it('answers container_start_failed when the engine cannot start the container', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    deps.containers.script('web:v1', { startFails: 'port is already allocated' });

    const outcome = await applyDeployment(applyPayload(fakeSpec('web:v1', resource)), deps);

    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'container_start_failed' });
    expect(deps.progress()).toEqual(['deployment-started', 'image-ready']);
  });

  it('is canceled during verification: it answers canceled and removes the new container', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1', 'web:slow'] });
    const v1 = await deployed(deps, 'web:v1');
    deps.containers.script('web:slow', { healthy: false });
    const spec = fakeSpec('web:slow', resource, { health: fastHealth({ retries: 1000 }) });
    let cancel: ReturnType<typeof cancelDeployment> | undefined;
    deps.onEvent = (event) => {
      if (event.kind === eventKind.deploymentProgress && event.attributes.eventType === 'health-check-attempt')
        cancel ??= cancelDeployment({ deploymentId: spec.deploymentId }, deps);
    };

    const outcome = await applyDeployment(applyPayload(spec), deps);

    expect(outcome).toEqual({
      succeeded: false,
      errorCode: 'canceled',
      errorMessage: 'Canceled during verification; the new container was removed. The previous version keeps serving.',
    });
    expect(await cancel).toEqual({
      succeeded: true,
      result: { deploymentId: spec.deploymentId, wasRunning: true, removedContainer: false },
    });
    expect(deps.containers.all()).toMatchObject([{ deploymentId: v1.spec.deploymentId, running: true }]);
    expect(deps.running.size).toBe(0);
  });

  it('without a proxy serves on the container port: trafficSwitch direct', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'], traffic: null });
    const spec = fakeSpec('web:v1', resource);

    const outcome = await applyDeployment(applyPayload(spec), deps);

    const port = containerOf(deps, spec.deploymentId)!.hostPorts[8080];
    expect(outcome).toMatchObject({
      succeeded: true,
      result: { trafficSwitch: 'direct', accessUrl: `http://127.0.0.1:${port}`, listenPort: null },
    });
    expect(deps.progress()).not.toContain('traffic-switched');
  });

  it('when the proxy cannot be programmed, still succeeds on the container port and says so', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:v1'] });
    deps.proxy.failWith(proxyUnavailable());
    const spec = fakeSpec('web:v1', resource);

    const outcome = await applyDeployment(applyPayload(spec), deps);

    const port = containerOf(deps, spec.deploymentId)!.hostPorts[8080];
    expect(outcome).toMatchObject({
      succeeded: true,
      result: { trafficSwitch: 'direct', accessUrl: `http://127.0.0.1:${port}`, listenPort: null },
    });
    expect(deps.progress()).toContain('traffic-switch-unavailable');
  });

  it('an app without an internal port gets no traffic switch and no access URL', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['worker:v1'] });

    const outcome = await applyDeployment(
      applyPayload(
        fakeSpec('worker:v1', resource, {
          internalPort: null,
          health: fastHealth({ type: 'tcp', http: null, tcp: { port: 9000 } }),
        }),
      ),
      deps,
    );

    expect(outcome).toMatchObject({ succeeded: true, result: { trafficSwitch: 'none', accessUrl: null } });
  });

  it('caps the deployment log at 500 lines, the 501st saying the rest is in the container log', async () => {
    const deps = fakeDeploymentDeps({ localImages: ['web:chatty'] });
    deps.containers.script('web:chatty', { output: Array.from({ length: 600 }, (_, i) => `line ${i}`) });

    await applyDeployment(applyPayload(fakeSpec('web:chatty', resource)), deps);

    const lines = deps.events.filter((e) => e.kind === eventKind.deploymentLog);
    expect(lines).toHaveLength(501);
    expect(lines.at(-1)?.attributes).toMatchObject({
      level: 'warn',
      source: 'berth',
      message: "more than 500 lines: the rest is in the container's own log",
    });
  });
});
