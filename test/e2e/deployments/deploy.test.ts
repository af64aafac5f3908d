import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../agent/processes.js';
import { DeployRig } from './deploy-rig.js';

// One rig for the file: the tests run in order and each starts from what the previous one left running.
const rig = new DeployRig();
let appUrl = '';
let lastGood = '';

beforeAll(async () => {
  await rig.start();
}, 120_000);
afterAll(async () => {
  console.log('deployment e2e timings', rig.timings);
  await rig.stop();
}, 60_000);

/** Reads the SSE stream of a deployment until it ends; returns the envelopes' event types in order. */
async function streamedEventTypes(id: string): Promise<string[]> {
  const res = await fetch(`${rig.api.url}/deployments/${id}/events/stream?untilTerminal=true`, {
    headers: { authorization: `Bearer ${rig.api.token}` },
    signal: AbortSignal.timeout(90_000),
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const body = await res.text();
  return body
    .split('\n\n')
    .map((frame) => /^data: (.*)$/m.exec(frame)?.[1])
    .filter((data): data is string => data !== undefined)
    .map((data) => JSON.parse(data) as { kind: string; event?: { eventType: string } })
    .map((envelope) => (envelope.kind === 'terminal' ? 'terminal' : (envelope.event?.eventType ?? '?')));
}

/** Requests the app back to back from 4 loopback clients (half on fresh connections) until stopped. */
function constantLoad(url: string) {
  const tally = { ok: 0, failed: 0, bodies: new Set<string>(), errors: [] as string[] };
  let running = true;
  const client = async (fresh: boolean) => {
    while (running) {
      try {
        const res = await fetch(url, {
          headers: fresh ? { connection: 'close' } : {},
          signal: AbortSignal.timeout(5000),
        });
        const text = (await res.text()).trim();
        if (res.status === 200) {
          tally.ok += 1;
          tally.bodies.add(text);
        } else {
          tally.failed += 1;
          tally.errors.push(`${res.status} ${text.slice(0, 80)}`);
        }
      } catch (error) {
        tally.failed += 1;
        tally.errors.push(String((error as Error).cause ?? error));
      }
    }
  };
  const clients = [client(false), client(false), client(true), client(true)];
  return {
    tally,
    async stop() {
      running = false;
      await Promise.all(clients);
      return tally;
    },
  };
}

describe('deployments on a real Docker engine, through the real agent and Caddy', () => {
  it('deploys an image: the events stream live to succeeded and the app answers', { timeout: 90_000 }, async () => {
    const started = Date.now();
    const id = await rig.deploy();
    const types = await streamedEventTypes(id);
    const ended = await rig.deployment(id);
    expect(ended.status, `${ended.errorCode}: ${ended.errorMessage}`).toBe('succeeded');
    expect(types).toEqual(
      expect.arrayContaining([
        'deployment-requested',
        'deployment-started',
        'container-started',
        'health-check-passed',
        'traffic-switched',
        'deployment-succeeded',
      ]),
    );
    expect(types.at(-1)).toBe('terminal');
    const view = await rig.ended(id);
    expect(view).toMatchObject({ status: 'succeeded' });
    rig.timings['first deploy, request to succeeded'] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    appUrl = view.directUrl!;
    expect(appUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await rig.answer(appUrl)).toBe('v1');
    lastGood = id;
  });

  it('redeploys a new version with a changed variable under constant load without one failed request', {
    timeout: 120_000,
  }, async () => {
    await rig.setImage('berth-test/web:v2');
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/variables`, { key: 'GREETING', value: 'hello v2' });
    const load = constantLoad(appUrl);
    await new Promise((r) => setTimeout(r, 1000));
    const id = await rig.deploy();
    const view = await rig.ended(id);
    expect(view.status, view.errorMessage ?? '').toBe('succeeded');
    expect(view.directUrl).toBe(appUrl);
    await new Promise((r) => setTimeout(r, 1500));
    const tally = await load.stop();
    rig.timings['redeploy under load'] = `${tally.ok} ok, ${tally.failed} failed`;
    expect(tally.errors).toEqual([]);
    expect(tally.failed).toBe(0);
    expect([...tally.bodies].sort()).toEqual(['v1', 'v2']);
    expect(await rig.answer(appUrl)).toBe('v2');
    // The old container was drained, stopped and removed; only the new one is left.
    expect(await rig.containers()).toEqual([{ deploymentId: id, state: 'running' }]);
    const inspect = await rig.docker
      .getContainer((await rig.docker.listContainers({ filters: { label: [`berth.deployment=${id}`] } }))[0]!.Id)
      .inspect();
    expect(inspect.Config.Env).toContain('GREETING=hello v2');
    lastGood = id;
  });

  it('a never-healthy image fails with the reason, and the running version keeps serving', {
    timeout: 90_000,
  }, async () => {
    await rig.setImage('berth-test/never-healthy:1');
    const id = await rig.deploy();
    const view = await rig.ended(id);
    expect(view).toMatchObject({ status: 'failed', errorCode: 'unhealthy' });
    expect(view.errorMessage).toContain('previous version keeps serving');
    expect(await rig.answer(appUrl)).toBe('v2');
    expect((await rig.containers()).map((c) => c.deploymentId)).toEqual([lastGood]);
  });

  it('an image that exits at once fails with its exit code and output in the log', { timeout: 90_000 }, async () => {
    await rig.setImage('berth-test/exits:1');
    const id = await rig.deploy();
    const view = await rig.ended(id);
    expect(view).toMatchObject({ status: 'failed', errorCode: 'exited' });
    const logs = await rig.api.expect<{ logs: Array<{ message: string }> }>(200, 'GET', `/deployments/${id}/logs`);
    expect(logs.logs.map((l) => l.message).join('\n')).toContain('DATABASE_URL is not set');
    expect(await rig.answer(appUrl)).toBe('v2');
  });

  it('an image that is not on the server fails naming it, leaving no container', { timeout: 60_000 }, async () => {
    await rig.setImage('berth-test/missing:404');
    const id = await rig.deploy();
    const view = await rig.ended(id);
    expect(view.status).toBe('failed');
    expect(view.errorCode).toMatch(/^image_(not_found|pull_failed)$/);
    expect(view.errorMessage).toContain('berth-test/missing:404');
    expect((await rig.containers()).map((c) => c.deploymentId)).toEqual([lastGood]);
  });

  it('cancels a deployment during verification: its container is removed, the running version stays', {
    timeout: 60_000,
  }, async () => {
    await rig.setImage('berth-test/never-healthy:1');
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/health-policy`, {
      healthCheck: { http: { path: '/healthz' }, intervalSeconds: 1, timeoutSeconds: 1, retries: 60 },
    });
    const id = await rig.deploy();
    await eventually(
      'the new container runs',
      async () => ((await rig.containers()).some((c) => c.deploymentId === id) ? true : undefined),
      30_000,
      100,
    );
    const canceled = await rig.api.expect<{ status: string }>(200, 'POST', `/deployments/${id}/cancel`, {
      confirm: id,
    });
    expect(canceled.status).toBe('canceled');
    expect((await rig.containers()).map((c) => c.deploymentId)).toEqual([lastGood]);
    expect(await rig.answer(appUrl)).toBe('v2');
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/health-policy`, {
      healthCheck: { http: { path: '/healthz' }, intervalSeconds: 1, timeoutSeconds: 1, retries: 3 },
    });
  });

  it('rolls back to the earlier successful deployment', { timeout: 90_000 }, async () => {
    const rollback = await rig.api.expect<{ id: string }>(201, 'POST', `/deployments/${lastGood}/rollback`, {});
    const view = await rig.ended(rollback.id);
    expect(view.status, view.errorMessage ?? '').toBe('succeeded');
    expect(await rig.answer(appUrl)).toBe('v1');
    expect((await rig.deployment(lastGood)).status).toBe('rolled-back');
    lastGood = rollback.id;
  });

  it('an agent restart leaves the running containers alone', { timeout: 60_000 }, async () => {
    const [before] = await rig.docker.listContainers({ filters: { label: [`berth.deployment=${lastGood}`] } });
    const startedAt = (await rig.docker.getContainer(before!.Id).inspect()).State.StartedAt;
    rig.agent.signal('SIGTERM');
    await rig.agent.exited;
    rig.startAgent();
    await rig.reaches('connected', 30_000, 'agent restart');
    const after = (await rig.docker.getContainer(before!.Id).inspect()).State;
    expect(after.StartedAt).toBe(startedAt);
    expect(after.Running).toBe(true);
    expect(await rig.answer(appUrl)).toBe('v1');
  });

  it('an agent killed during verification resumes the deployment when it is back, without a second container', {
    timeout: 120_000,
  }, async () => {
    await rig.setImage('berth-test/web:v2');
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/health-policy`, {
      healthCheck: {
        http: { path: '/healthz' },
        intervalSeconds: 1,
        timeoutSeconds: 1,
        retries: 3,
        startPeriodSeconds: 4,
      },
    });
    const id = await rig.deploy();
    await eventually(
      'the new container runs',
      async () => ((await rig.containers()).some((c) => c.deploymentId === id) ? true : undefined),
      30_000,
      100,
    );
    rig.agent.signal('SIGKILL');
    await rig.agent.exited;
    rig.startAgent();
    const view = await rig.ended(id, 90_000);
    expect(view.status, view.errorMessage ?? '').toBe('succeeded');
    const events = await rig.api.expect<{ envelopes: Array<{ event: { eventType: string } }> }>(
      200,
      'GET',
      `/deployments/${id}/events`,
    );
    expect(events.envelopes.map((e) => e.event.eventType)).toContain('deployment-resumed');
    expect(await rig.containers()).toEqual([{ deploymentId: id, state: 'running' }]);
    expect(await rig.answer(appUrl)).toBe('v2');
  });

  it('stops, starts and restarts the runtime without a new deployment, and health shows each state', {
    timeout: 90_000,
  }, async () => {
    const healthy = await rig.api.expect<{ overall: string; runtime: { lifecycle: string }; checks: unknown[] }>(
      200,
      'GET',
      `/resources/${rig.resourceId}/health`,
    );
    expect(healthy).toMatchObject({ overall: 'healthy', runtime: { lifecycle: 'running' } });
    expect(healthy.checks).toEqual([expect.objectContaining({ status: 'passed' })]);
    const stop = await rig.api.expect<{ status: string; runtimeState: string }>(
      200,
      'POST',
      `/resources/${rig.resourceId}/runtime/stop`,
      {},
    );
    expect(stop).toMatchObject({ status: 'succeeded', runtimeState: 'stopped' });
    await expect(fetch(appUrl, { signal: AbortSignal.timeout(3000) }).then((r) => r.status)).resolves.not.toBe(200);
    const stopped = await rig.api.expect<{ overall: string; runtime: { lifecycle: string } }>(
      200,
      'GET',
      `/resources/${rig.resourceId}/health`,
    );
    expect(stopped).toMatchObject({ overall: 'unhealthy', runtime: { lifecycle: 'stopped' } });
    // The stop is desired state: the agent's reconciliation (every 2 s here) does not start it again.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await rig.containers()).map((c) => c.state)).toEqual(['exited']);
    const start = await rig.api.expect<{ status: string; runtimeState: string }>(
      200,
      'POST',
      `/resources/${rig.resourceId}/runtime/start`,
      {},
    );
    expect(start, JSON.stringify(start)).toMatchObject({ status: 'succeeded', runtimeState: 'running' });
    expect(await rig.answer(appUrl)).toBe('v2');
    const restart = await rig.api.expect<{ status: string }>(
      200,
      'POST',
      `/resources/${rig.resourceId}/runtime/restart`,
      {},
    );
    expect(restart.status).toBe('succeeded');
    expect(await rig.answer(appUrl)).toBe('v2');
  });

  it('a container stopped by hand is started again and the drift shows in the events and the health', {
    timeout: 90_000,
  }, async () => {
    const [running] = await rig.docker.listContainers({ filters: { label: ['berth.managed=true'] } });
    const deploymentId = running!.Labels['berth.deployment']!;
    await rig.docker.getContainer(running!.Id).stop({ t: 1 });
    await eventually(
      'the agent starts it again',
      async () => ((await rig.docker.getContainer(running!.Id).inspect()).State.Running ? true : undefined),
      30_000,
      200,
    );
    // Its port changed with the start: the listener follows it a moment later.
    const body = await eventually(
      'the app answers again',
      async () => {
        const res = await fetch(appUrl, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return res?.status === 200 ? (await res.text()).trim() : undefined;
      },
      10_000,
      100,
    );
    expect(body).toBe('v2');
    const events = await rig.api.expect<{ envelopes: Array<{ event: { eventType: string; summary: string } }> }>(
      200,
      'GET',
      `/deployments/${deploymentId}/events`,
    );
    expect(events.envelopes.map((e) => e.event)).toContainEqual(
      expect.objectContaining({ eventType: 'runtime-drift', summary: expect.stringContaining('stopped') }),
    );
    const health = await rig.api.expect<{ runtime: { reasonCode: string; message: string } }>(
      200,
      'GET',
      `/resources/${rig.resourceId}/health`,
    );
    expect(health.runtime).toMatchObject({ reasonCode: 'runtime-drift' });
  });
});
