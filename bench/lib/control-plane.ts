import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, waitFor } from './stats.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** How to start the control plane. */
export interface ControlPlaneOptions {
  databaseUrl: string;
  dataDir: string;
  httpPort: number;
  grpcPort: number;
  /** BERTH_SECRET_KEY (32 bytes, base64): the bench unseals the agent CA with the same key. */
  secretKey: string;
  heartbeatIntervalMs: number;
  /** Called with the pid as soon as the process exists (for a reaper). */
  onSpawn?: (pid: number) => Promise<void>;
}

/** A running `node bin/berth.js control-plane`. */
export interface ControlPlaneProcess {
  pid: number;
  httpUrl: string;
  grpcPort: number;
  /** Log lines (warn and above) counted by message, and the last few kept whole. */
  logCounts: Map<string, number>;
  lastLogs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with how long the graceful stop took (or null: killed). */
  stop(timeoutMs: number): Promise<number | null>;
}

/** Starts the real control plane process and waits until both its HTTP API and its gRPC port answer. */
export async function startControlPlane(options: ControlPlaneOptions, readyTimeoutMs = 60_000) {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) env[key] = value;
  Object.assign(env, {
    BERTH_DATA_DIR: options.dataDir,
    BERTH_DATABASE_URL: options.databaseUrl,
    BERTH_HTTP_HOST: '127.0.0.1',
    BERTH_HTTP_PORT: String(options.httpPort),
    BERTH_GRPC_PORT: String(options.grpcPort),
    BERTH_LOG_LEVEL: 'warn',
    BERTH_SECRET_KEY: options.secretKey,
    BERTH_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs),
  });
  // For profiling the control plane, e.g. BENCH_CONTROL_PLANE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
  const nodeArgs = (process.env['BENCH_CONTROL_PLANE_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, path.join(repoRoot, 'bin', 'berth.js'), 'control-plane'],
    {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid !== undefined) await options.onSpawn?.(child.pid);
  const logCounts = new Map<string, number>();
  const lastLogs: string[] = [];
  const record = (line: string) => {
    if (line.trim() === '') return;
    let msg = line.slice(0, 120);
    try {
      msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? msg);
    } catch {
      // not JSON: count the raw line
    }
    logCounts.set(msg, (logCounts.get(msg) ?? 0) + 1);
    lastLogs.push(line.slice(0, 2000));
    if (lastLogs.length > 50) lastLogs.shift();
  };
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) record(line);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((value) => {
    exit = value;
  });
  let stopping: Promise<number | null> | undefined;
  const httpUrl = `http://127.0.0.1:${options.httpPort}`;
  const ready = await waitFor(
    async () => {
      if (exit !== undefined) return true;
      return (await httpAnswers(`${httpUrl}/bootstrap/auth/status`)) && (await tcpAnswers(options.grpcPort));
    },
    readyTimeoutMs,
    100,
  );
  if (exit !== undefined || !ready) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`the control plane did not start (${JSON.stringify(exit)})\n${lastLogs.join('\n')}`);
  }
  const process_: ControlPlaneProcess = {
    pid: child.pid!,
    httpUrl,
    grpcPort: options.grpcPort,
    logCounts,
    lastLogs,
    exited,
    stop(timeoutMs) {
      // One stop only: a second SIGTERM would make the control plane exit at once.
      stopping ??= (async () => {
        if (exit !== undefined) return null;
        const started = Date.now();
        child.kill('SIGTERM');
        const result = await Promise.race([exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
        if (result !== 'timeout') return Date.now() - started;
        child.kill('SIGKILL');
        await exited;
        return null;
      })();
      return stopping;
    },
  };
  return process_;
}

async function httpAnswers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
