import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import {
  exitsAtOnceMessage,
  httpHealth,
  type RuntimeTestEngine,
  startRuntimeTestEngine,
  testRuntimeSpec,
} from '../../test/helpers/images.js';
import { type Containers, createDockerContainers } from './containers.js';
import type { LogLine } from './log-lines.js';
import type { ContainerSpec, HealthPolicy } from './spec.js';
import { type VerifyAttempt, type VerifyHealthOptions, verifyHealth } from './verify.js';

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

/** Starts `image` with `health` and verifies it, collecting attempts and log lines. */
async function startAndVerify(
  image: string,
  health: HealthPolicy,
  extra: Partial<VerifyHealthOptions> & { spec?: Partial<ContainerSpec> } = {},
) {
  const spec = testRuntimeSpec(image, { health, ...extra.spec });
  const container = await runtime.createAndStart(spec);
  const attempts: VerifyAttempt[] = [];
  const logs: LogLine[] = [];
  const outcome = await verifyHealth({
    containers: runtime,
    container,
    health,
    internalPort: spec.internalPort,
    onAttempt: (attempt) => attempts.push(attempt),
    onLog: (line) => logs.push(line),
    ...extra,
  });
  return { outcome, attempts, logs, container };
}

const tcpHealth = (overrides: Partial<HealthPolicy> = {}): HealthPolicy =>
  httpHealth({ type: 'tcp', http: null, tcp: { port: null }, ...overrides });

describe('verifyHealth', () => {
  it('reports the web image healthy on its first passing HTTP check, within about a second', async () => {
    const { outcome, attempts } = await startAndVerify(await engine.images.web('v1'), httpHealth());

    expect(outcome).toMatchObject({ healthy: true });
    expect(outcome.durationMs).toBeLessThan(2_500);
    expect(attempts.at(-1)).toEqual({ attempt: outcome.attempts, ok: true, detail: 'GET /healthz answered 200' });
  });

  it('reports unhealthy after `retries` failed checks, with the last check as the reason', async () => {
    const health = httpHealth({ intervalSeconds: 1, timeoutSeconds: 1, retries: 2 });
    const { outcome, attempts } = await startAndVerify(engine.images.neverHealthy, health);

    expect(outcome).toMatchObject({ healthy: false, code: 'unhealthy', attempts: 2 });
    expect(attempts.map((a) => a.ok)).toEqual([false, false]);
    if (!outcome.healthy) expect(outcome.reason).toBe(attempts[1]!.detail);
    expect(attempts[1]!.detail).toMatch(/connection (refused|closed)/);
  });

  it('reports an unexpected status as "<method> <path> answered <status>"', async () => {
    // Two tries: the very first check may come before httpd listens.
    const health = httpHealth({ retries: 2, http: { ...httpHealth().http!, path: '/missing' } });
    const { outcome } = await startAndVerify(await engine.images.web('v1'), health);

    expect(outcome).toMatchObject({
      healthy: false,
      code: 'unhealthy',
      reason: 'GET /missing answered 404, expected 200',
    });
  });

  it('ends as exited during the start period, quoting the exit code and the stderr line', async () => {
    const health = httpHealth({ startPeriodSeconds: 30 });
    const { outcome, logs } = await startAndVerify(engine.images.exitsAtOnce, health);

    expect(outcome).toMatchObject({ healthy: false, code: 'exited', attempts: 0 });
    expect(outcome.durationMs).toBeLessThan(5_000);
    if (!outcome.healthy) {
      expect(outcome.reason).toContain('code 3');
      expect(outcome.reason).toContain(exitsAtOnceMessage);
    }
    expect(logs).toContainEqual(expect.objectContaining({ stream: 'stderr', line: exitsAtOnceMessage }));
  });

  it('ends as exited when the command does not exist, quoting what tini said', async () => {
    const { outcome } = await startAndVerify(engine.images.neverHealthy, httpHealth(), {
      spec: { command: ['/no/such/binary'] },
    });

    expect(outcome).toMatchObject({ healthy: false, code: 'exited' });
    if (!outcome.healthy) {
      expect(outcome.reason).toContain('code 127');
      expect(outcome.reason).toContain('/no/such/binary');
    }
  });

  it('ends as exited when the restart policy restarts a crashing container', async () => {
    const { outcome } = await startAndVerify(engine.images.exitsAtOnce, httpHealth({ startPeriodSeconds: 30 }), {
      spec: { restartPolicy: 'always' },
    });

    expect(outcome).toMatchObject({ healthy: false, code: 'exited' });
    if (!outcome.healthy) expect(outcome.reason).toContain(exitsAtOnceMessage);
  });

  it('ends as canceled promptly when the signal fires', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const { outcome } = await startAndVerify(engine.images.neverHealthy, httpHealth({ startPeriodSeconds: 30 }), {
      signal: controller.signal,
    });

    expect(outcome).toMatchObject({ healthy: false, code: 'canceled' });
    expect(outcome.durationMs).toBeLessThan(1_000);
  });

  it('passes a TCP check on a listening port and fails it where nothing listens', async () => {
    const passing = await startAndVerify(await engine.images.web('v1'), tcpHealth());
    const failing = await startAndVerify(engine.images.neverHealthy, tcpHealth({ retries: 1 }));

    expect(passing.outcome).toMatchObject({ healthy: true });
    expect(failing.outcome).toMatchObject({ healthy: false, code: 'unhealthy' });
    if (!failing.outcome.healthy) expect(failing.outcome.reason).toContain('connection closed at once');
  });

  it('checks the health port rather than the internal port when one is set', async () => {
    const health = httpHealth({ http: { ...httpHealth().http!, port: 8080 } });
    const { outcome } = await startAndVerify(await engine.images.web('v1'), health, { spec: { internalPort: 9999 } });

    expect(outcome).toMatchObject({ healthy: true });
  });

  it('with checks disabled, reports a container still running after 1 s healthy', async () => {
    const disabled = httpHealth({ enabled: false });
    const running = await startAndVerify(engine.images.neverHealthy, disabled);
    const crashing = await startAndVerify(engine.images.exitsAtOnce, disabled);

    expect(running.outcome).toMatchObject({ healthy: true, attempts: 0 });
    expect(running.outcome.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(crashing.outcome).toMatchObject({ healthy: false, code: 'exited' });
  });

  it('stops following the logs once it has decided', async () => {
    const spec = testRuntimeSpec(engine.images.neverHealthy, {
      startCommand: 'while true; do echo tick; sleep 0.2; done',
      health: httpHealth({ enabled: false }),
    });
    const container = await runtime.createAndStart(spec);
    const logs: LogLine[] = [];
    await verifyHealth({
      containers: runtime,
      container,
      health: spec.health,
      internalPort: null,
      onLog: (l) => logs.push(l),
    });
    const seen = logs.length;
    await new Promise((resolve) => setTimeout(resolve, 600));

    expect(seen).toBeGreaterThan(0);
    expect(logs).toHaveLength(seen);
  });
});
