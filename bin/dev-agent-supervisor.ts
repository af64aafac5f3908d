import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonFile, writeFileAtomic } from '../agent/json-file.js';
import { checkListenerMigration } from '../agent/workloads/traffic-switch.js';
import type { LocalAgentEnrollment } from '../control-plane/modules/servers/local-server.js';
import { freePort } from '../shared/free-port.js';
import type { Logger } from '../shared/logger.js';

const berthBin = fileURLToPath(new URL('./berth.js', import.meta.url));
const pollMs = 2000;

/** Options of {@link superviseLocalAgent}. */
export interface LocalAgentOptions {
  dataDir: string;
  url: string;
  provision: () => Promise<LocalAgentEnrollment | null>;
  log: Logger;
  /** Told once, when the agent has enrolled. */
  onEnrolled?: (serverId: string) => void;
  /** The `caddy` program; looked up on PATH when omitted, null for none. */
  caddyBin?: string | null;
}

/**
 * `berth dev`'s own agent: enrolls this machine as the server "local" as soon as the first admin exists, then runs
 * `berth agent run` as a child process (restarted if it dies), logging to `<dataDir>/agent/agent.log`. When `caddy`
 * is installed the agent gets a private Caddy too ({@link superviseLocalCaddy}), unless BERTH_CADDY_ADMIN_URL
 * already names one. Returns a stop function that ends the agent, then its Caddy, gracefully.
 */
export function superviseLocalAgent(options: LocalAgentOptions): () => Promise<void> {
  const stateDir = path.join(options.dataDir, 'agent');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logFile = createWriteStream(path.join(stateDir, 'agent.log'), { flags: 'a' });
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_AGENT_STATE_DIR: stateDir };
  let stopped = false;
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;

  const pidFile = path.join(stateDir, 'agent.pid');
  const run = (args: string[]) => {
    const proc = spawn(process.execPath, [berthBin, 'agent', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (proc.pid !== undefined) writeFileSync(pidFile, String(proc.pid));
    proc.stdout?.pipe(logFile, { end: false });
    proc.stderr?.pipe(logFile, { end: false });
    return proc;
  };
  const exited = (proc: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode);
      else proc.once('exit', (code) => resolve(code));
    });
  const later = (step: () => Promise<void>) => {
    if (!stopped) timer = setTimeout(() => void step(), pollMs);
  };

  async function enroll(): Promise<void> {
    if (stopped) return;
    try {
      const enrollment = await options.provision();
      if (enrollment === null) return later(enroll); // no first admin yet
      child = run([
        'enroll',
        '--url',
        options.url,
        '--token',
        enrollment.token,
        '--ca-sha256',
        enrollment.caSha256,
        '--force',
      ]);
      if ((await exited(child)) !== 0) {
        options.log.warn('the local agent could not enroll; retrying (see agent/agent.log in the data folder)');
        return later(enroll);
      }
      options.onEnrolled?.(enrollment.serverId);
      await daemon();
    } catch (error) {
      options.log.warn({ err: error }, 'could not provision the local agent; retrying');
      later(enroll);
    }
  }

  async function daemon(): Promise<void> {
    if (stopped) return;
    child = run(['run']);
    const code = await exited(child);
    if (stopped) return;
    // 3: the control plane revoked it (the server "local" was deactivated or got a new credential): enroll afresh.
    options.log.warn({ code }, 'the local agent exited; starting it again');
    later(code === 3 ? enroll : daemon);
  }

  const caddy = env['BERTH_CADDY_ADMIN_URL']
    ? undefined
    : superviseLocalCaddy({ dataDir: options.dataDir, log: options.log, caddyBin: options.caddyBin });
  // A kill -9 of `berth dev` leaves its agent running: stop that one before starting ours.
  const isAgent = (cmdline: string) => cmdline.includes('berth.js') && cmdline.includes('agent');
  void Promise.all([stopLeftover(pidFile, isAgent), caddy?.ready]).then(([, adminUrl]) => {
    if (adminUrl) env['BERTH_CADDY_ADMIN_URL'] = adminUrl;
    return existsSync(path.join(stateDir, 'agent.json')) ? daemon() : enroll();
  });

  return async () => {
    stopped = true;
    clearTimeout(timer);
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    rmSync(pidFile, { force: true });
    logFile.end();
    await caddy?.stop();
  };
}

/** Options of {@link superviseLocalCaddy}. */
export interface LocalCaddyOptions {
  dataDir: string;
  log: Logger;
  /** The `caddy` program; looked up on PATH when omitted, null for none. */
  caddyBin?: string | null;
}

/** A supervised Caddy: `ready` is its admin URL once it answers, or null when there is none. */
export interface LocalCaddy {
  ready: Promise<string | null>;
  stop(): Promise<void>;
}

/**
 * `berth dev`'s private Caddy, managed only through its admin API on a free 127.0.0.1 port. Everything it keeps is
 * under `<dataDir>/caddy/` (log `caddy.log`). It starts from its last autosaved config with the admin address
 * replaced (what `caddy run --resume` does, without pinning the previous admin port), so routes survive a restart;
 * if Caddy refuses that config (say a saved port is taken now) it starts empty, keeping the refused one as
 * `autosave.json.rejected`. It is restarted if it dies. Without `caddy` on PATH this warns once and `ready` is null.
 */
export function superviseLocalCaddy(options: LocalCaddyOptions): LocalCaddy {
  const dir = path.join(options.dataDir, 'caddy');
  const files = {
    config: path.join(dir, 'caddy.json'),
    autosave: path.join(dir, 'config', 'caddy', 'autosave.json'),
    pid: path.join(dir, 'caddy.pid'),
    log: path.join(dir, 'caddy.log'),
  };
  const bin = options.caddyBin === undefined ? findOnPath('caddy') : options.caddyBin;
  const log = options.log;
  // Caddy keeps its state under HOME and the XDG folders; BERTH_* settings (secrets among them) are not its business.
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BERTH_'))),
    HOME: dir,
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
  };
  let adminUrl = '';
  let stopped = false;
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function savedConfig(): Promise<Record<string, unknown>> {
    try {
      const saved = await readJsonFile(files.autosave);
      return saved && typeof saved === 'object' && !Array.isArray(saved) ? (saved as Record<string, unknown>) : {};
    } catch (error) {
      log.warn({ err: error }, "the local Caddy's saved configuration is unreadable; starting it empty");
      return {};
    }
  }

  /** Starts Caddy once; true when its admin API answers. */
  async function launch(resume: boolean): Promise<boolean> {
    const config = { ...(resume ? await savedConfig() : {}), admin: { listen: new URL(adminUrl).host } };
    await writeFileAtomic(files.config, JSON.stringify(config), 0o600);
    if (stopped) return false;
    const out = openSync(files.log, 'a', 0o600);
    // A relative --config and the log file as stdio: the process names no data folder and outlives a kill -9 of
    // berth dev without a broken pipe, like the agent; the next start stops it (see stopLeftover).
    const proc = spawn(bin!, ['run', '--config', 'caddy.json'], { cwd: dir, env, stdio: ['ignore', out, out] });
    closeSync(out);
    child = proc;
    let failed = false;
    proc.once('error', () => {
      failed = true;
    });
    if (proc.pid !== undefined) writeFileSync(files.pid, String(proc.pid));
    for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      if (failed || proc.exitCode !== null || proc.signalCode !== null) return false;
      const up = await fetch(`${adminUrl}/config/`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (up && !stopped) {
        proc.once('exit', (code, signal) => {
          if (stopped || child !== proc) return;
          log.warn({ code, signal }, 'the local Caddy exited; starting it again');
          restartLater();
        });
        return true;
      }
    }
    proc.kill('SIGKILL');
    return false;
  }

  function restartLater(): void {
    timer = setTimeout(async () => {
      if (!(await start()) && !stopped) restartLater();
    }, pollMs);
  }

  async function start(): Promise<boolean> {
    if (await launch(true)) return true;
    if (stopped) return false;
    log.warn(
      'the local Caddy refused its saved configuration (see caddy/caddy.log in the data folder); starting it empty',
    );
    try {
      renameSync(files.autosave, `${files.autosave}.rejected`);
    } catch {
      // nothing saved
    }
    return launch(false);
  }

  const ready = (async (): Promise<string | null> => {
    if (bin === null) {
      log.warn(
        'caddy is not installed: deployments will publish ports directly without zero-downtime switching; apt-get install caddy',
      );
      return null;
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const isOurCaddy = (cmdline: string, pid: number) =>
      path.basename(cmdline.split('\0')[0] ?? '') === 'caddy' && readlinkSync(`/proc/${pid}/cwd`) === dir;
    await stopLeftover(files.pid, isOurCaddy);
    adminUrl = `http://127.0.0.1:${await freePort()}`;
    if (!(await start())) {
      if (!stopped)
        log.warn('the local Caddy did not start (see caddy/caddy.log in the data folder); carrying on without it');
      return null;
    }
    log.info({ adminUrl }, 'the local Caddy is ready');
    await checkListenerMigration({ log, enable: false });
    return adminUrl;
  })().catch((error: unknown) => {
    log.warn({ err: error }, 'could not start the local Caddy; carrying on without it');
    return null;
  });

  return {
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        // Caddy waits for requests in flight without limit; berth dev's stop should not.
        const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(force);
      }
      rmSync(files.pid, { force: true });
      await ready;
    },
  };
}

function findOnPath(command: string): string | null {
  for (const folder of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (folder === '') continue;
    const candidate = path.join(folder, command);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** Stops the process in `pidFile` left by a previous run, if `isOurs` recognises it (a pid may have been reused). */
async function stopLeftover(pidFile: string, isOurs: (cmdline: string, pid: number) => boolean): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    if (!isOurs(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), pid)) return;
  } catch {
    return; // gone already
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
}
