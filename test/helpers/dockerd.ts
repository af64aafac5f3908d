import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's engine (`apt-get install docker.io`); `/usr/local/bin/docker` may be an unrelated newer client. */
export const dockerdBinary = '/usr/sbin/dockerd';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;
const LOG_TAIL_CHARS = 4_000;

/** A Docker engine private to one test file. */
export interface PrivateDockerd {
  /** The engine's API socket. */
  socketPath: string;
  /** `unix://<socketPath>`, as `DOCKER_HOST` spells it. */
  dockerHost: string;
  /** The daemon's process id. */
  pid: number;
  /** SIGTERM (its containerd child exits with it), wait for the exit, then remove every file it made. */
  stop(): Promise<void>;
}

// Daemons still running from this file, so an early end of the test worker does not leave them behind.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  // SIGTERM rather than SIGKILL: dockerd then stops its containerd child too.
  for (const child of live) child.kill('SIGTERM');
});

/**
 * Starts `dockerd` on a socket in a fresh folder under /tmp, with its own data root, exec root and pidfile, and
 * no bridge, iptables rules or IP forwarding, so it changes nothing in the host's networking and cannot clash
 * with another engine. Resolves once `GET /_ping` answers (at most 20 s). Needs root and Debian's docker.io.
 */
export async function startDockerd(): Promise<PrivateDockerd> {
  await access(dockerdBinary, constants.X_OK).catch(() => {
    throw new Error(`no Docker engine at ${dockerdBinary}: apt-get install docker.io`);
  });
  if (process.getuid?.() !== 0) throw new Error('dockerd needs root: run the agent end-to-end tests as root');
  const root = await mkdtemp('/tmp/berth-dockerd-');
  const socketPath = path.join(root, 'docker.sock');
  const hadBridge = await hasDocker0();
  const child = spawn(
    dockerdBinary,
    [
      '--host',
      `unix://${socketPath}`,
      '--data-root',
      path.join(root, 'data'),
      '--exec-root',
      path.join(root, 'exec'),
      '--pidfile',
      path.join(root, 'docker.pid'),
      '--bridge=none',
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  let log = '';
  const keepTail = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-LOG_TAIL_CHARS);
  };
  child.stdout!.on('data', keepTail);
  child.stderr!.on('data', keepTail);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = `code ${code}, signal ${signal}`;
      live.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      exit = error.message;
      live.delete(child);
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (exit === undefined) child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS, false)]);
    if (!stopped) {
      child.kill('SIGKILL');
      await exited;
    }
    await unmountUnder(root);
    await rm(root, { recursive: true, force: true });
    // --bridge=none makes no docker0; remove one only if it appeared and no other engine could own it.
    if (!hadBridge && (await hasDocker0()) && !(await otherDockerdRunning())) {
      await run('ip', ['link', 'delete', 'docker0']).catch(() => undefined);
    }
    if (!stopped) throw new Error(`dockerd did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM\n${log}`);
  };

  for (const end = Date.now() + READY_TIMEOUT_MS; ; await sleep(100)) {
    if (await ping(socketPath)) break;
    if (exit !== undefined || Date.now() > end) {
      const why = exit === undefined ? `not answering /_ping after ${READY_TIMEOUT_MS / 1000} s` : `exited (${exit})`;
      await stop().catch(() => undefined);
      throw new Error(`dockerd ${why}\n${log}`);
    }
  }
  return { socketPath, dockerHost: `unix://${socketPath}`, pid: child.pid!, stop };
}

/** True when the engine on `socketPath` answers `GET /_ping` with OK within a second. */
export function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', headers: { host: 'docker' }, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

async function hasDocker0(): Promise<boolean> {
  return access('/sys/class/net/docker0').then(
    () => true,
    () => false,
  );
}

async function otherDockerdRunning(): Promise<boolean> {
  return run('pgrep', ['-x', 'dockerd']).then(
    () => true,
    () => false,
  );
}

// An engine killed mid-way may leave overlay or shm mounts under its roots; rm cannot remove those.
async function unmountUnder(root: string): Promise<void> {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const points = mounts
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await run('umount', ['-l', point]).catch(() => undefined);
}
