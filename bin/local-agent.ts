import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalAgentEnrollment } from '../control-plane/local-agent.js';
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
}

/**
 * `berth dev`'s own agent: enrolls this machine as the server "local" as soon as the first admin exists, then runs
 * `berth agent run` as a child process (restarted if it dies), logging to `<dataDir>/agent/agent.log`.
 * Returns a stop function that ends the agent gracefully.
 */
export function superviseLocalAgent(options: LocalAgentOptions): () => Promise<void> {
  const stateDir = path.join(options.dataDir, 'agent');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logFile = createWriteStream(path.join(stateDir, 'agent.log'), { flags: 'a' });
  const env = { ...process.env, BERTH_AGENT_STATE_DIR: stateDir };
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

  // A kill -9 of `berth dev` leaves its agent running: stop that one before starting ours.
  void stopLeftover(pidFile).then(() => (existsSync(path.join(stateDir, 'agent.json')) ? daemon() : enroll()));

  return async () => {
    stopped = true;
    clearTimeout(timer);
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    rmSync(pidFile, { force: true });
    logFile.end();
  };
}

async function stopLeftover(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // gone already
  }
  if (!cmdline.includes('berth.js') || !cmdline.includes('agent')) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
}
