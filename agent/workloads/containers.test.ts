import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import {
  exitsAtOnceMessage,
  type RuntimeTestEngine,
  startRuntimeTestEngine,
  testRuntimeSpec,
} from '../../test/helpers/images.js';
import { ContainerError, type Containers, createDockerContainers } from './containers.js';
import { berthLabels } from './spec.js';

let engine: RuntimeTestEngine;
let runtime: Containers;

beforeAll(async () => {
  engine = await startRuntimeTestEngine();
  runtime = createDockerContainers({
    docker: engine.docker,
    log: createLogger({ level: 'silent', name: 'test' }),
    network: engine.network,
  });
});

afterAll(async () => {
  await engine?.stop();
});

/** GET through the published port, retried for a moment: httpd may not listen yet right after a start. */
async function fetchText(port: number, path: string): Promise<string> {
  let body: string | undefined;
  await expect
    .poll(async () => {
      body = await fetch(`http://127.0.0.1:${port}${path}`).then(
        (response) => response.text(),
        () => undefined,
      );
      return body;
    })
    .toBeDefined();
  return body!;
}

async function rejection(promise: Promise<unknown>): Promise<ContainerError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ContainerError);
  return error as ContainerError;
}

describe('createAndStart', () => {
  it('creates a labelled container with tini, loopback ports, env and limits, and starts it', async () => {
    const spec = testRuntimeSpec(await engine.images.web('v1'), {
      resourceSlug: 'shop/front',
      env: { GREETING: 'hello world', EMPTY: '' },
      cpuLimit: 0.5,
      memoryLimitMb: 64,
      restartPolicy: 'on-failure',
    });
    const info = await runtime.createAndStart(spec);

    expect(info).toMatchObject({ deploymentId: spec.deploymentId, resourceId: spec.resourceId, running: true });
    expect(info.name).toBe(`berth-shop-front-${spec.deploymentId.slice(-8)}`);
    const raw = await engine.docker.getContainer(info.id).inspect();
    expect(raw.Config.Labels).toMatchObject({
      [berthLabels.managed]: 'true',
      [berthLabels.project]: spec.projectId,
      [berthLabels.environment]: spec.environmentId,
      [berthLabels.resource]: spec.resourceId,
      [berthLabels.deployment]: spec.deploymentId,
      [berthLabels.service]: 'shop/front',
    });
    expect(raw.HostConfig.Init).toBe(true);
    expect(raw.Config.Tty).toBe(false);
    expect(raw.Config.Env).toEqual(expect.arrayContaining(['GREETING=hello world', 'EMPTY=']));
    expect(raw.HostConfig).toMatchObject({
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    });
    expect(raw.NetworkSettings.Ports['8080/tcp']).toEqual([
      { HostIp: '127.0.0.1', HostPort: String(info.hostPorts[8080]) },
    ]);
    expect(await fetchText(info.hostPorts[8080]!, '/')).toBe('v1');
  });

  it('publishes a health check port that differs from the internal port', async () => {
    const spec = testRuntimeSpec(await engine.images.web('v1'), {
      health: { ...testRuntimeSpec('').health, type: 'tcp', http: null, tcp: { port: 9090 } },
    });
    const info = await runtime.createAndStart(spec);

    expect(Object.keys(info.hostPorts).sort()).toEqual(['8080', '9090']);
  });

  it('runs startCommand through /bin/sh -c with the entrypoint cleared', async () => {
    const spec = testRuntimeSpec(engine.images.neverHealthy, {
      startCommand: 'echo "from $0 in $PWD"; sleep 3600',
      workingDirectory: '/bin',
    });
    const info = await runtime.createAndStart(spec);

    const raw = await engine.docker.getContainer(info.id).inspect();
    expect(raw.Config.Cmd).toEqual(['/bin/sh', '-c', 'echo "from $0 in $PWD"; sleep 3600']);
    expect(raw.Config.Entrypoint ?? []).toEqual([]);
    await expect
      .poll(async () => (await runtime.logs(info.id, {})).map((l) => l.line))
      .toEqual(['from /bin/sh in /bin']);
  });

  it('returns the same container when called again for a deployment, restarting it when stopped', async () => {
    const spec = testRuntimeSpec(await engine.images.web('v1'));
    const [first, concurrent] = await Promise.all([runtime.createAndStart(spec), runtime.createAndStart(spec)]);
    expect(concurrent.id).toBe(first.id);

    await runtime.stop(first.id, 5);
    expect(await runtime.findDeploymentContainer(spec.deploymentId)).toMatchObject({ running: false, hostPorts: {} });
    const again = await runtime.createAndStart(spec);

    expect(again).toMatchObject({ id: first.id, running: true });
    expect(await runtime.listResourceContainers(spec.resourceId)).toHaveLength(1);
    expect(await fetchText(again.hostPorts[8080]!, '/')).toBe('v1');
  });

  it("fails with container_start_failed and the engine's reason when the engine cannot start it", async () => {
    // A network removed after create is one of the few faults that surface only at start.
    await engine.docker.createNetwork({ Name: 'berth-doomed', Driver: 'bridge' });
    const created = await engine.docker.createContainer({
      Image: engine.images.neverHealthy,
      Labels: { [berthLabels.managed]: 'true' },
      HostConfig: { NetworkMode: 'berth-doomed' },
    });
    await engine.docker.getNetwork('berth-doomed').remove();
    const error = await rejection(runtime.start(created.id));

    expect(error.code).toBe('container_start_failed');
    expect(error.message).toContain('berth-doomed');
    expect(await runtime.inspect(created.id)).toMatchObject({ state: 'created', running: false, exitCode: null });
  });

  it('fails with image_not_found naming the image when the engine lacks it, and leaves no container', async () => {
    const spec = testRuntimeSpec('berth-test/absent:1');
    const error = await rejection(runtime.createAndStart(spec));

    expect(error.code).toBe('image_not_found');
    expect(error.message).toContain('berth-test/absent:1');
    expect(await runtime.findDeploymentContainer(spec.deploymentId)).toBeNull();
  });

  it('reports a missing network as a start failure naming it, not as a missing image', async () => {
    const lost = createDockerContainers({
      docker: engine.docker,
      log: createLogger({ level: 'silent', name: 'test' }),
      network: 'berth-missing',
    });
    const error = await rejection(lost.createAndStart(testRuntimeSpec(await engine.images.web('v1'))));

    expect(error.code).toBe('container_start_failed');
    expect(error.message).toContain('berth-missing');
  });
});

describe('ensureImage', () => {
  it('uses an image the engine already has without pulling', async () => {
    const lines: string[] = [];
    await expect(runtime.ensureImage(engine.images.neverHealthy, (line) => lines.push(line))).resolves.toEqual({
      pulled: false,
    });
    expect(lines).toEqual([]);
  });

  it('fails naming the image when it is missing and no registry is reachable', async () => {
    const before = await runtime.listManagedContainers();
    const error = await rejection(runtime.ensureImage('berth-test/missing:1', () => undefined));

    expect(['image_pull_failed', 'image_not_found']).toContain(error.code);
    expect(error.message).toContain('berth-test/missing:1');
    expect(await runtime.listManagedContainers()).toHaveLength(before.length);
  });
});

describe('stop, remove and logs', () => {
  it('stops a web container with SIGTERM through tini (exit 143), and stopping again is no error', async () => {
    const info = await runtime.createAndStart(testRuntimeSpec(await engine.images.web('v1')));
    await runtime.stop(info.id, 10);

    expect(await runtime.inspect(info.id)).toMatchObject({ state: 'exited', running: false, exitCode: 143 });
    await expect(runtime.stop(info.id, 10)).resolves.toBeUndefined();
  });

  it('removes a Berth container, and removing it again is no error', async () => {
    const spec = testRuntimeSpec(await engine.images.web('v1'));
    const info = await runtime.createAndStart(spec);
    await runtime.remove(info.id);

    expect(await runtime.inspect(info.id)).toBeNull();
    await expect(runtime.remove(info.id)).resolves.toBeUndefined();
    expect(await runtime.findDeploymentContainer(spec.deploymentId)).toBeNull();
  });

  it('refuses to remove, stop or list a container without berth.managed=true', async () => {
    const foreign = await engine.docker.createContainer({
      Image: engine.images.neverHealthy,
      Labels: { [berthLabels.deployment]: 'dep-foreign' },
    });

    expect((await rejection(runtime.remove(foreign.id))).code).toBe('not_managed');
    expect((await rejection(runtime.stop(foreign.id, 1))).code).toBe('not_managed');
    expect(await runtime.inspect(foreign.id)).toBeNull();
    expect((await runtime.listManagedContainers()).map((c) => c.id)).not.toContain(foreign.id);
    expect(await runtime.findDeploymentContainer('dep-foreign')).toBeNull();
    await expect(foreign.inspect()).resolves.toMatchObject({ Id: foreign.id });
  });

  it('returns stdout and stderr lines with their stream and time', async () => {
    const before = Date.now() - 1000;
    const info = await runtime.createAndStart(testRuntimeSpec(engine.images.exitsAtOnce));
    await expect.poll(async () => (await runtime.inspect(info.id))?.exitCode).toBe(3);

    const lines = await runtime.logs(info.id, {});
    // The engine copies stdout and stderr in separate goroutines: their relative order is not kept.
    expect(lines.map(({ stream, line }) => ({ stream, line }))).toEqual(
      expect.arrayContaining([
        { stream: 'stdout', line: 'starting' },
        { stream: 'stderr', line: exitsAtOnceMessage },
      ]),
    );
    expect(lines).toHaveLength(2);
    expect(Date.parse(lines[0]!.at)).toBeGreaterThan(before);
    expect(await runtime.logs(info.id, { tail: 1 })).toHaveLength(1);
  });
});
