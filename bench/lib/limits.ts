import { spawn } from 'node:child_process';
import { openFileLimit } from './proc.js';

/**
 * Node raises its soft limit to the hard one at start-up, so the limit read here is in effect the hard limit.
 * Makes sure this process (and the control plane it spawns, which inherits the limit) may open `needed` files:
 * N client sockets here, N server sockets there. When the soft limit is lower, re-runs this same command under
 * `prlimit --nofile=needed:needed` (root may raise the hard limit too) and exits with its code; returns false then.
 */
export async function ensureOpenFileLimit(needed: number): Promise<boolean> {
  const current = openFileLimit();
  if (current >= needed) return true;
  if (process.env['BERTH_BENCH_REEXEC'] === '1') {
    process.stderr.write(`[bench] open file limit is ${current} after prlimit; needed ${needed}, continuing anyway\n`);
    return true;
  }
  process.stderr.write(
    `[bench] open file limit ${current} < ${needed}: re-running under prlimit ` +
      '(raising the hard limit needs root with CAP_SYS_RESOURCE)\n',
  );
  const argv = [`--nofile=${needed}:${needed}`, '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawn('prlimit', argv, { stdio: 'inherit', env: { ...process.env, BERTH_BENCH_REEXEC: '1' } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (exitCode) => resolve(exitCode ?? 1));
  });
  process.exitCode = code;
  return false;
}
