import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../shared/free-port.js';

/** A private Caddy for one test file: only its admin API, on a free loopback port. */
export interface PrivateCaddy {
  adminUrl: string;
  stop(): Promise<void>;
}

/** Starts Debian's `caddy` with an empty config and its admin API on 127.0.0.1; fails clearly when it is missing. */
export async function startCaddy(): Promise<PrivateCaddy> {
  const dir = await mkdtemp('/tmp/berth-caddy-');
  const port = await freePort();
  const config = path.join(dir, 'caddy.json');
  await writeFile(config, JSON.stringify({ admin: { listen: `127.0.0.1:${port}` } }));
  // Caddy keeps its state under XDG folders: keep them inside the test's folder.
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
  const child: ChildProcess = spawn('caddy', ['run', '--config', config], { env, stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`caddy did not start (apt-get install caddy): ${error.message}`))),
  );
  const adminUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await Promise.race([
      fetch(`${adminUrl}/config/`).then(
        (r) => r.ok,
        () => false,
      ),
      failed,
    ]);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`caddy's admin API did not answer at ${adminUrl}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    adminUrl,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
