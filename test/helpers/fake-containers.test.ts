import { describe, expect, it } from 'vitest';
import { berthLabels } from '../../agent/workloads/spec.js';
import { createFakeContainers } from './fake-containers.js';
import { fakeSpec } from './fake-deployment-deps.js';

const target = (containerPort: number, hostPort: number) => ({
  containerPort,
  hostPort,
  timeoutMs: 50,
  signal: new AbortController().signal,
});

describe('the fake container engine behaves like Docker where the handlers depend on it', () => {
  it('assigns host ports at every start and releases them at stop', async () => {
    const engine = createFakeContainers({ localImages: ['web:v1'] });
    const started = await engine.createAndStart(fakeSpec('web:v1', 'res_a'));
    await engine.stop(started.id, 1);
    const stopped = await engine.inspect(started.id);
    const again = await engine.start(started.id);

    expect(started.hostPorts[8080]).toBeGreaterThan(0);
    expect(stopped).toMatchObject({ state: 'exited', running: false, hostPorts: {} });
    expect(again.hostPorts[8080]).not.toBe(started.hostPorts[8080]);
  });

  it('never lists, inspects, stops or removes a container without berth.managed=true', async () => {
    const engine = createFakeContainers();
    const foreign = engine.addForeign('postgres', { [berthLabels.resource]: 'res_a' });

    expect(await engine.listResourceContainers('res_a')).toEqual([]);
    expect(await engine.listManagedContainers()).toEqual([]);
    expect(await engine.inspect(foreign)).toBeNull();
    await expect(engine.remove(foreign)).rejects.toMatchObject({ code: 'not_managed' });
    await expect(engine.stop(foreign, 1)).rejects.toMatchObject({ code: 'not_managed' });
    expect(engine.all()).toMatchObject([{ id: foreign, running: true }]);
  });

  it('refuses to create a container from an image it lacks, and pulls only what a registry serves', async () => {
    const engine = createFakeContainers({ registryImages: ['web:v1'] });

    await expect(engine.createAndStart(fakeSpec('web:v1', 'res_a'))).rejects.toMatchObject({ code: 'image_not_found' });
    await expect(engine.ensureImage('web:v9', () => undefined)).rejects.toMatchObject({ code: 'image_not_found' });
    expect(await engine.ensureImage('web:v1', () => undefined)).toEqual({ pulled: true });
    expect(await engine.ensureImage('web:v1', () => undefined)).toEqual({ pulled: false });
  });

  it('runs a scripted exit after start: the exit code is kept, the ports released, the log stream ends', async () => {
    const engine = createFakeContainers({ localImages: ['web:crash'] });
    engine.script('web:crash', { exitCode: 2, exitAfterMs: 5, output: ['starting', '!boom'] });
    const started = await engine.createAndStart(fakeSpec('web:crash', 'res_a'));
    const followed: string[] = [];

    await engine.followLogs(started.id, { signal: new AbortController().signal }, (l) => followed.push(l.line));

    expect(started.running).toBe(true);
    expect(await engine.inspect(started.id)).toMatchObject({ state: 'exited', exitCode: 2, hostPorts: {} });
    expect(followed).toEqual(['starting', 'boom']);
    expect((await engine.logs(started.id, { tail: 1 })).map((l) => l.stream)).toEqual(['stderr']);
  });

  it('answers health probes for the container on the probed port, as scripted', async () => {
    const engine = createFakeContainers({ localImages: ['web:v1'] });
    const spec = fakeSpec('web:v1', 'res_a');
    engine.script('web:v1', { failingChecks: 1 });
    const { hostPorts } = await engine.createAndStart(spec);

    expect(await engine.probe(spec.health, target(8080, hostPorts[8080]!))).toMatchObject({ ok: false });
    expect(await engine.probe(spec.health, target(8080, hostPorts[8080]!))).toMatchObject({ ok: true });
    expect(await engine.probe(spec.health, target(8080, 1))).toEqual({ ok: false, detail: 'connection refused' });
  });
});
