import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerInfo, Containers } from './containers.js';
import { type HealthProbe, runHealthCheck } from './health-checks.js';
import type { LogLine } from './log-lines.js';
import { type HealthPolicy, healthCheckPort } from './spec.js';

/** How a verification ended. `exited` also covers a container its restart policy restarted meanwhile. */
export type VerifyOutcome =
  | { healthy: true; attempts: number; durationMs: number }
  | {
      healthy: false;
      code: 'unhealthy' | 'exited' | 'canceled';
      /** For the deployment log: the last check's detail, or the exit code and the last log lines. */
      reason: string;
      attempts: number;
      durationMs: number;
    };

/** One health check, reported as it ends. */
export interface VerifyAttempt {
  /** 1 for the first check. */
  attempt: number;
  ok: boolean;
  detail: string;
}

/** Options of {@link verifyHealth}. */
export interface VerifyHealthOptions {
  containers: Pick<Containers, 'inspect' | 'logs' | 'followLogs'>;
  /** As `createAndStart` returned it: its host ports and restart count are the baseline. */
  container: ContainerInfo;
  health: HealthPolicy;
  internalPort: number | null;
  /** Ends the verification with `canceled` at once. */
  signal?: AbortSignal;
  onAttempt?: (attempt: VerifyAttempt) => void;
  /** Receives the container's stdout and stderr lines while verifying. */
  onLog?: (line: LogLine) => void;
  /** Runs one check; the real HTTP/TCP check by default. */
  probe?: HealthProbe;
  /** Milliseconds since the epoch; `Date.now` by default. */
  now?: () => number;
  /** Waits `ms`; may reject once `signal` fires. Real timers by default. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** How often to look whether the container still runs; 250 ms by default. */
  exitCheckIntervalMs?: number;
}

/** How long a container with health checks disabled must stay up. */
const disabledSettleMs = 1_000;
/** How many log lines an `exited` reason quotes. */
const exitLogLines = 20;
/**
 * The engine records StartedAt only after the process runs, so its first lines can be stamped earlier; a
 * restarted container's previous run is usually further back than this.
 */
const logSlackMs = 1_000;
/** How long to let the log follower deliver a dead container's last lines. */
const logDrainMs = 1_000;

/**
 * Decides whether a just-started container is fit for traffic. After the start period, one check runs every
 * `intervalSeconds` (HTTP or TCP against the port published on 127.0.0.1); the first passing check makes it
 * healthy, `retries` failures in a row make it unhealthy with the last failure's detail. Throughout, including
 * the start period, a container that stops or is restarted by its policy ends the verification as `exited`
 * with its exit code and last log lines. With checks disabled, a container still running after 1 s is healthy.
 * Never rejects: engine errors while watching count as failed observations.
 */
export async function verifyHealth(options: VerifyHealthOptions): Promise<VerifyOutcome> {
  const { containers, container, health } = options;
  const now = options.now ?? Date.now;
  const runProbe = options.probe ?? runHealthCheck;
  const sleep = options.sleep ?? ((ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }));
  const started = now();
  const done = new AbortController();
  const stopOnCancel = () => done.abort();
  options.signal?.addEventListener('abort', stopOnCancel, { once: true });
  if (options.signal?.aborted) done.abort();
  let attempts = 0;

  const finished = (code: 'unhealthy' | 'exited' | 'canceled', reason: string): VerifyOutcome => ({
    healthy: false,
    code,
    reason,
    attempts,
    durationMs: now() - started,
  });
  const healthy = (): VerifyOutcome => ({ healthy: true, attempts, durationMs: now() - started });

  /** The `exited` outcome when the container no longer runs the process it was started with, else null. */
  async function exitedOutcome(): Promise<VerifyOutcome | null> {
    const current = await containers.inspect(container.id).catch(() => undefined);
    if (current === undefined) return null;
    if (current === null) return finished('exited', 'the container was removed');
    const alive = current.running && current.state !== 'restarting';
    // A crash can come before createAndStart read the container back, so the handed-over state counts too.
    const crashedBefore = current.restartCount > container.restartCount || container.state !== 'running';
    if (alive && !crashedBefore) return null;
    const code = current.exitCode === null ? '' : ` with code ${current.exitCode}`;
    // `running` stays true while the restart policy is bringing the container back.
    const what = `the container exited${code}${current.running ? ' and was restarted' : ''}`;
    const lines = await containers.logs(container.id, { tail: exitLogLines }).catch(() => []);
    const quoted = lines.length === 0 ? '' : `; its last log lines:\n${lines.map((l) => l.line).join('\n')}`;
    return finished('exited', what + quoted);
  }

  async function watchExit(): Promise<VerifyOutcome | null> {
    const interval = options.exitCheckIntervalMs ?? 250;
    while (!done.signal.aborted) {
      const outcome = await exitedOutcome();
      if (outcome !== null) return outcome;
      if (!(await pause(sleep, interval, done.signal))) break;
    }
    return null;
  }

  async function probe(): Promise<VerifyOutcome | null> {
    if (!health.enabled) {
      if (!(await pause(sleep, disabledSettleMs, done.signal))) return null;
      return (await exitedOutcome()) ?? healthy();
    }
    const port = healthCheckPort(health, options.internalPort);
    if (port === null) return finished('unhealthy', 'no port to check: set an internal port or a health check port');
    const hostPort = container.hostPorts[port];
    if (hostPort === undefined) {
      // A container that died before createAndStart read it back has no ports at all.
      return (await exitedOutcome()) ?? finished('unhealthy', `port ${port} is not published on 127.0.0.1`);
    }
    if (!(await pause(sleep, health.startPeriodSeconds * 1000, done.signal))) return null;
    const retries = Math.max(1, health.retries);
    for (let failures = 0; ; ) {
      const attemptStarted = now();
      attempts += 1;
      const result = await runProbe(health, {
        containerPort: port,
        hostPort,
        timeoutMs: health.timeoutSeconds * 1000,
        signal: done.signal,
      });
      if (done.signal.aborted) return null;
      options.onAttempt?.({ attempt: attempts, ok: result.ok, detail: result.detail });
      if (result.ok) return healthy();
      failures += 1;
      if (failures >= retries) return (await exitedOutcome()) ?? finished('unhealthy', result.detail);
      const wait = Math.max(0, health.intervalSeconds * 1000 - (now() - attemptStarted));
      if (!(await pause(sleep, wait, done.signal))) return null;
    }
  }

  const following =
    options.onLog === undefined
      ? Promise.resolve()
      : containers
          .followLogs(
            container.id,
            {
              ...(container.startedAt === null
                ? {}
                : { since: new Date(Date.parse(container.startedAt) - logSlackMs) }),
              signal: done.signal,
            },
            options.onLog,
          )
          .catch(() => undefined);
  const stopped = new Promise<null>((resolve) => {
    if (done.signal.aborted) resolve(null);
    else done.signal.addEventListener('abort', () => resolve(null), { once: true });
  });

  let outcome: VerifyOutcome | null = null;
  try {
    outcome = await Promise.race([probe(), watchExit(), stopped]);
    if (outcome === null || options.signal?.aborted) outcome = finished('canceled', 'the verification was canceled');
    return outcome;
  } finally {
    // A dead container's log stream ends by itself; give it a moment so its last lines reach onLog.
    if (outcome !== null && !outcome.healthy && outcome.code === 'exited') {
      await Promise.race([following, delay(logDrainMs)]);
    }
    options.signal?.removeEventListener('abort', stopOnCancel);
    done.abort();
    await following;
  }
}

/** Sleeps; false when `signal` fired meanwhile (the caller then stops). */
async function pause(
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
  ms: number,
  signal: AbortSignal,
): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms > 0) await sleep(ms, signal).catch(() => undefined);
  return !signal.aborted;
}
