import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root; every process runs from here, the way a newcomer runs `npx berth`. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The entry program, `bin/berth.js`. */
export const berthBin = path.join(repoRoot, 'bin', 'berth.js');

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** How to start one Berth process. */
export interface BerthStartOptions {
  command: 'dev' | 'control-plane';
  /** BERTH_DATA_DIR. */
  dataDir: string;
  /** BERTH_DATABASE_URL; unset runs the embedded PostgreSQL. */
  databaseUrl?: string;
  /** More variables; they win over the defaults above. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/** A started Berth process whose API answers at `url`. */
export interface BerthProcess {
  url: string;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines of stdout, parsed (other lines skipped). */
  logs(): Array<Record<string, unknown>>;
  /** Resolves as soon as a new stdout log line matches (checked on every chunk, so no polling delay). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits for the exit (SIGKILL after 20 s, then throws); resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL to the Berth process only: an embedded PostgreSQL it started is left orphaned. */
  kill9(): Promise<void>;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// Every process started by this file's tests, so afterAll can kill them whatever happened.
const live = new Set<ChildProcess>();
// Should the test worker itself end early, do not leave Berth processes behind it.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A fresh data folder under /tmp (not os.tmpdir(): the `postgres` OS user must be able to reach it). */
export function makeDataDir(): Promise<string> {
  return mkdtemp('/tmp/berth-e2e-');
}

/** The environment of a child: ours without any BERTH_* variable, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) env[key] = value;
  return { ...env, ...extra };
}

/** Starts `node bin/berth.js <command>` and waits until it says it is ready. */
export async function startBerth(options: BerthStartOptions): Promise<BerthProcess> {
  const env = childEnv({
    BERTH_DATA_DIR: options.dataDir,
    BERTH_HTTP_PORT: '0',
    BERTH_GRPC_PORT: '0',
    BERTH_LOG_LEVEL: 'info',
    ...(options.databaseUrl ? { BERTH_DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  });
  const child = spawn(process.execPath, [berthBin, options.command], { cwd: repoRoot, env, stdio: 'pipe' });
  live.add(child);
  let out = '';
  let err = '';
  const watchers = new Set<(chunk: string) => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const watcher of watchers) watcher(chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const output = () => `--- stdout ---\n${out}\n--- stderr ---\n${err}`;

  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let url: string | undefined;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => {
    exit = e;
  });
  for (const end = Date.now() + timeoutMs; url === undefined; await sleep(25)) {
    url = options.command === 'dev' ? out.match(/^Berth is ready: (\S+)/m)?.[1] : readyUrlFromLogs(out);
    if (url !== undefined) break;
    if (exit) throw new Error(`berth ${options.command} exited (${JSON.stringify(exit)}) before ready\n${output()}`);
    if (Date.now() > end) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`berth ${options.command} not ready after ${timeoutMs / 1000} s\n${output()}`);
    }
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (!exit) child.kill(signal);
    const result = await within(exited, STOP_TIMEOUT_MS);
    if (result === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      throw new Error(
        `berth ${options.command} did not exit within ${STOP_TIMEOUT_MS / 1000} s of ${signal}\n${output()}`,
      );
    }
    return result.code;
  };
  return {
    url,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    logs: () => parseLogLines(out),
    async waitForLog(match, ms = 10_000) {
      let pending = '';
      let watcher: (chunk: string) => void = () => undefined;
      const seen = new Promise<void>((resolve) => {
        watcher = (chunk) => {
          const lines = (pending + chunk).split('\n');
          pending = lines.pop() ?? '';
          if (parseLogLines(`${lines.join('\n')}\n`).some(match)) resolve();
        };
        watchers.add(watcher);
      });
      const result = await within(seen, ms).finally(() => watchers.delete(watcher));
      if (result === 'timeout') throw new Error(`no matching log line within ${ms} ms\n${output()}`);
    },
    stop,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    exited,
  };
}

function readyUrlFromLogs(stdout: string): string | undefined {
  const ready = parseLogLines(stdout).find((l) => l['msg'] === 'control plane ready');
  return typeof ready?.['url'] === 'string' ? ready['url'] : undefined;
}

/** Complete JSON lines of `text`, parsed; anything else is skipped. */
export function parseLogLines(text: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n').slice(0, -1)) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return lines;
}

/** SIGKILLs every Berth process still running from this file (for afterAll; harmless when none is left). */
export async function killAllBerthProcesses(): Promise<void> {
  const waits = [...live].map((child) => {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    return within(gone, 5_000);
  });
  await Promise.all(waits);
}

/** PIDs of processes whose command line mentions `dataDir` (`pgrep -f`): the postmaster of its cluster. */
export async function processesOf(dataDir: string): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-f', dataDir]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch (error) {
    if ((error as { code?: number }).code === 1) return []; // pgrep: nothing matched
    throw error;
  }
}

/**
 * Final clean-up of a data folder: stops whatever still runs on it (SIGINT, then SIGKILL), removes the folder and
 * returns the PIDs it found running, so the caller can fail when something was left behind.
 */
export async function cleanUpDataDir(dataDir: string): Promise<number[]> {
  // pgrep -f '' would match every process on the machine.
  if (dataDir.trim().length < 5) throw new Error(`refusing to clean up the data folder "${dataDir}"`);
  const leftovers = await processesOf(dataDir);
  for (const pid of leftovers) await signal(pid, 'SIGINT');
  for (let i = 0; i < 100 && (await processesOf(dataDir)).length > 0; i++) await sleep(100);
  for (const pid of await processesOf(dataDir)) await signal(pid, 'SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
  return leftovers;
}

async function signal(pid: number, sig: NodeJS.Signals): Promise<void> {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** `promise`, or 'timeout' after `ms`; the timer is cleared either way. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  const abort = new AbortController();
  const timeout = sleep(ms, 'timeout' as const, { signal: abort.signal }).catch(() => 'timeout' as const);
  return Promise.race([promise, timeout]).finally(() => abort.abort());
}
