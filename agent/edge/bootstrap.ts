import { execFile, spawn } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import nodePath from 'node:path';
import { promisify } from 'node:util';
import type { CaddyAdmin } from './caddy-admin.js';

const run = promisify(execFile);

/** Why Caddy could not be brought up. */
export type CaddyBootstrapErrorCode = 'proxy_binary_missing' | 'proxy_start_failed';

/** A failed bootstrap; the message says what to do (install Caddy) or what Caddy printed. */
export class CaddyBootstrapError extends Error {
  override readonly name = 'CaddyBootstrapError';
  constructor(
    readonly code: CaddyBootstrapErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Options of {@link bootstrapCaddy}. */
export interface CaddyBootstrapOptions {
  admin: Pick<CaddyAdmin, 'adminUrl' | 'read' | 'get'>;
  /** The agent's state folder; Caddy's own folder is `<stateDir>/caddy`. */
  stateDir: string;
  /** The binary to start (`caddy`, looked up on PATH). */
  binary?: string;
  /** How long a started Caddy may take until its admin API answers (15 s). */
  startTimeoutMs?: number;
}

/** What {@link bootstrapCaddy} did. */
export interface CaddyBootstrapOutcome {
  action: 'started' | 'adopted';
  caddyVersion: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answers(admin: Pick<CaddyAdmin, 'read'>): Promise<boolean> {
  return admin.read().then(
    () => true,
    () => false,
  );
}

/** `caddy version` prints `2.6.2` (Debian) or `v2.6.2 h1:…` (upstream builds): the first word, without the `v`. */
async function versionOf(binary: string): Promise<string | null> {
  try {
    const { stdout } = await run(binary, ['version'], { timeout: 5000 });
    return stdout.trim().split(/\s+/)[0]?.replace(/^v/, '') || null;
  } catch {
    return null;
  }
}

/**
 * The version of the Caddy answering on the admin API. Caddy 2.6's admin API does not tell its version, but pprof's
 * `/debug/pprof/cmdline` tells the running process's argv: an absolute argv[0] is that very binary; a bare name is
 * looked up on PATH as the agent would (the same binary unless PATH differs). `unknown` when neither works.
 */
async function runningVersion(admin: Pick<CaddyAdmin, 'adminUrl'>, fallbackBinary: string): Promise<string> {
  let argv0 = '';
  try {
    const response = await fetch(`${admin.adminUrl}/debug/pprof/cmdline`, { signal: AbortSignal.timeout(3000) });
    if (response.ok) argv0 = (await response.text()).split('\0')[0] ?? '';
  } catch {
    // Older or locked-down admin API: fall back to the binary on PATH.
  }
  const binary = argv0.startsWith('/') ? argv0 : fallbackBinary;
  return (await versionOf(binary)) ?? 'unknown';
}

function adminListen(adminUrl: string): string {
  const { hostname, port } = new URL(adminUrl);
  return `${hostname}:${port || '2019'}`;
}

/**
 * Makes sure a Caddy answers on the admin URL. One that answers is adopted as it is. Otherwise the agent starts
 * `caddy run --resume --config <stateDir>/caddy/initial.json`: detached in its own process group, so it outlives
 * the agent (the edge keeps serving while the agent restarts or upgrades), with its data and autosave under
 * `<stateDir>/caddy` and its output in `<stateDir>/caddy/caddy.log`. `--resume` brings back the last config Caddy
 * ran; `initial.json` (only the admin listener) is used the first time.
 */
export async function bootstrapCaddy(options: CaddyBootstrapOptions): Promise<CaddyBootstrapOutcome> {
  const { admin } = options;
  const binary = options.binary ?? 'caddy';
  if (await answers(admin)) return { action: 'adopted', caddyVersion: await runningVersion(admin, binary) };

  const dir = nodePath.join(options.stateDir, 'caddy');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const initial = nodePath.join(dir, 'initial.json');
  await writeFile(initial, `${JSON.stringify({ admin: { listen: adminListen(admin.adminUrl) } })}\n`, { mode: 0o600 });
  const logFile = nodePath.join(dir, 'caddy.log');
  const log = await open(logFile, 'a', 0o600);
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: nodePath.join(dir, 'config'),
    XDG_DATA_HOME: nodePath.join(dir, 'data'),
  };
  let exit: string | null = null;
  try {
    const child = spawn(binary, ['run', '--resume', '--config', initial], {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env,
    });
    const spawned = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (error) => resolve(error));
    });
    if (spawned) {
      if (spawned.code === 'ENOENT') {
        throw new CaddyBootstrapError(
          'proxy_binary_missing',
          `no Caddy answers at ${admin.adminUrl} and there is no "${binary}" to start (apt-get install caddy)`,
        );
      }
      throw new CaddyBootstrapError('proxy_start_failed', `could not start ${binary}: ${spawned.message}`);
    }
    child.once('exit', (code, signal) => {
      exit = signal ?? String(code);
    });
    child.unref();
  } finally {
    await log.close();
  }

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    if (await answers(admin)) return { action: 'started', caddyVersion: await runningVersion(admin, binary) };
    if (exit !== null || Date.now() > deadline) {
      const output = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      const why = exit !== null ? `exited (${exit})` : `did not answer within ${options.startTimeoutMs ?? 15_000} ms`;
      throw new CaddyBootstrapError(
        'proxy_start_failed',
        `caddy ${why} on ${admin.adminUrl}; its last output:\n${output}`,
      );
    }
    await sleep(100);
  }
}
