import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseLogLines, repoRoot } from '../helpers/berth-process.js';

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process in a process group of its own, with its output kept and its JSON log lines parsed. */
export interface LoggedProcess {
  /** The group leader's pid (also the group id). */
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Both streams, labelled, for assertion messages. */
  output(): string;
  /** The JSON log lines of stdout. */
  logs(): Array<Record<string, unknown>>;
  /** The first log line (old or new) that matches; rejects after `timeoutMs` or when the process exits first. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<Exit>;
  /** Set once the process has exited. */
  exit(): Exit | undefined;
  /** Sends `signal` to the whole group (a shell pipeline and everything it started). */
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal` to the group and waits for the leader's exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

// Every group started by this file's tests, so afterAll (or the worker's exit) can end them whatever happened.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) signalGroup(child.pid!, 'SIGKILL');
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** The environment of a child: ours without any BERTH_* or DOCKER_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('BERTH_') && !key.startsWith('DOCKER_')) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Starts `file args` as the leader of a new process group, in the repository root unless `cwd` says otherwise. */
export function spawnLogged(
  file: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string },
): LoggedProcess {
  const child = spawn(file, args, { cwd: options.cwd ?? repoRoot, env: options.env, stdio: 'pipe', detached: true });
  live.add(child);
  let out = '';
  let err = '';
  let exit: Exit | undefined;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve(exit);
    });
  });
  const output = () => `--- stdout ---\n${out}\n--- stderr ---\n${err}`;
  const logs = () => parseLogLines(out);
  return {
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    output,
    logs,
    exited,
    exit: () => exit,
    async waitForLog(match, timeoutMs = 10_000) {
      for (const end = Date.now() + timeoutMs; ; await sleep(50)) {
        const found = logs().find(match);
        if (found) return found;
        if (exit) throw new Error(`the process exited (${JSON.stringify(exit)}) first\n${output()}`);
        if (Date.now() > end) throw new Error(`no matching log line within ${timeoutMs} ms\n${output()}`);
      }
    },
    signal: (signal) => signalGroup(child.pid!, signal),
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (exit) return exit;
      signalGroup(child.pid!, signal);
      const done = await Promise.race([exited, sleep(timeoutMs, undefined)]);
      if (done) return done;
      signalGroup(child.pid!, 'SIGKILL');
      await exited;
      throw new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms of ${signal}\n${output()}`);
    },
  };
}

/** SIGKILLs every group still running from this file (for afterAll; harmless when none is left). */
export async function killAllSpawned(): Promise<void> {
  const waits = [...live].map((child) => {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child.pid!, 'SIGKILL');
    return Promise.race([gone, sleep(5_000)]);
  });
  await Promise.all(waits);
}

/**
 * Polls `probe` until it returns something other than undefined or false (a throw counts as "not yet"); after
 * `timeoutMs` it throws, naming `what` and the last value seen.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  let last: unknown;
  for (const end = Date.now() + timeoutMs; ; await sleep(intervalMs)) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      // Not yet: a control plane that is restarting refuses connections, say.
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
  }
}

/** Waits for every promise to settle, then rejects with the first failure if there was one. */
export async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}
