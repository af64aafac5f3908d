import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../shared/free-port.js';

/** A private Caddy for one test file: only its admin API, on a free loopback port. */
export interface PrivateCaddy {
  adminUrl: string;
  /** Its folder: the initial config, and Caddy's own state (`caddy/autosave.json`, certificates) under it. */
  dir: string;
  /** Stops Caddy (SIGTERM) and starts it again on the same folder with `--resume`: the last config comes back. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForAdmin(adminUrl: string, child: ChildProcess): Promise<void> {
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`caddy did not start (apt-get install caddy): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`caddy exited (${code}) before its admin API answered`)));
  });
  // Once the admin API answers, a later exit (a stop) is no failure of this wait.
  failed.catch(() => undefined);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await Promise.race([
      fetch(`${adminUrl}/config/`).then(
        (r) => r.ok,
        () => false,
      ),
      failed,
    ]);
    if (up) return;
    if (Date.now() > deadline) throw new Error(`caddy's admin API did not answer at ${adminUrl}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Starts Debian's `caddy` with an empty config and its admin API on 127.0.0.1; fails clearly when it is missing.
 * It runs with `--resume`, which only matters for {@link PrivateCaddy.restart}: a fresh folder has no autosave yet.
 */
export async function startCaddy(): Promise<PrivateCaddy> {
  const dir = await mkdtemp('/tmp/berth-caddy-');
  const port = await freePort();
  const config = path.join(dir, 'caddy.json');
  await writeFile(config, JSON.stringify({ admin: { listen: `127.0.0.1:${port}` } }));
  // Caddy keeps its state under XDG folders: keep them inside the test's folder.
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
  const adminUrl = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const started = spawn('caddy', ['run', '--config', config, '--resume'], { env, stdio: 'ignore' });
    await waitForAdmin(adminUrl, started);
    return started;
  };
  let child = await launch();
  return {
    adminUrl,
    dir,
    async restart() {
      await stopChild(child);
      child = await launch();
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
