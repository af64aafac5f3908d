import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCaddyTrafficSwitch } from '../agent/workloads/traffic-switch.js';
import { freePort } from '../shared/free-port.js';
import { createLogger } from '../shared/logger.js';
import { type LocalCaddy, superviseLocalCaddy } from './dev-agent-supervisor.js';

let dataDir: string;
let lines: Array<{ level: string; msg: string }>;
const running: LocalCaddy[] = [];
const log = () =>
  createLogger({
    level: 'info',
    name: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
const supervise = (caddyBin?: string | null) => {
  const caddy = superviseLocalCaddy({ dataDir, log: log(), caddyBin });
  running.push(caddy);
  return caddy;
};
const caddyPid = () => Number(readFileSync(path.join(dataDir, 'caddy', 'caddy.pid'), 'utf8'));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
const warnings = () => lines.filter((l) => l.level === 'warn').map((l) => l.msg);

beforeEach(async () => {
  dataDir = await mkdtemp('/tmp/berth-local-caddy-');
  lines = [];
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((caddy) => caddy.stop()));
  await rm(dataDir, { recursive: true, force: true });
});

describe("berth dev's Caddy", () => {
  it('runs a private Caddy whose routes come back when berth dev starts again', async () => {
    const upstream = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const first = supervise();
      const adminUrl = await first.ready;
      expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const route = {
        resourceId: 'res-dev',
        listenPort: await freePort(),
        upstream: { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
      };
      await createCaddyTrafficSwitch({ adminUrl: adminUrl!, log: log() }).route(route);
      const pid = caddyPid();
      await first.stop();
      expect(alive(pid)).toBe(false);

      const again = await supervise().ready;
      expect(await createCaddyTrafficSwitch({ adminUrl: again!, log: log() }).current('res-dev')).toEqual(route);
      expect(await (await fetch(`http://127.0.0.1:${route.listenPort}/`)).text()).toBe('hello');
    } finally {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it('stops a Caddy left running by a killed berth dev before starting its own', async () => {
    const dir = path.join(dataDir, 'caddy');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'caddy.json'),
      JSON.stringify({ admin: { listen: `127.0.0.1:${await freePort()}` } }),
    );
    const orphan = spawn('caddy', ['run', '--config', 'caddy.json'], { cwd: dir, stdio: 'ignore', detached: true });
    const orphanExited = new Promise((resolve) => orphan.once('exit', resolve));
    await writeFile(path.join(dir, 'caddy.pid'), String(orphan.pid));

    expect(await supervise().ready).not.toBeNull();
    await orphanExited;
    expect(caddyPid()).not.toBe(orphan.pid);
    expect(alive(caddyPid())).toBe(true);
  });

  it('starts Caddy again, on the same admin URL, when it dies', async () => {
    const caddy = supervise();
    const adminUrl = await caddy.ready;
    const first = caddyPid();
    process.kill(first, 'SIGKILL');
    for (let i = 0; i < 100 && (caddyPid() === first || !alive(caddyPid())); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(caddyPid()).not.toBe(first);
    expect(warnings()).toContain('the local Caddy exited; starting it again');
    let answered = false;
    for (let i = 0; i < 50 && !answered; i++) {
      answered = await fetch(`${adminUrl}/config/`).then(
        (r) => r.ok,
        () => false,
      );
      if (!answered) await new Promise((r) => setTimeout(r, 100));
    }
    expect(answered).toBe(true);
  });

  it('starts empty, keeping the refused file, when Caddy refuses its saved configuration', async () => {
    const squatter = http.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = `127.0.0.1:${(squatter.address() as AddressInfo).port}`;
    const autosave = path.join(dataDir, 'caddy', 'config', 'caddy', 'autosave.json');
    await mkdir(path.dirname(autosave), { recursive: true });
    await writeFile(autosave, JSON.stringify({ apps: { http: { servers: { x: { listen: [taken] } } } } }));
    try {
      const adminUrl = await supervise().ready;
      expect(adminUrl).not.toBeNull();
      expect(await (await fetch(`${adminUrl}/config/apps`)).json()).toBeNull();
      expect(existsSync(`${autosave}.rejected`)).toBe(true);
      expect(warnings().some((w) => w.includes('refused its saved configuration'))).toBe(true);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('warns once and carries on when caddy is not installed', async () => {
    expect(await supervise(null).ready).toBeNull();
    expect(warnings()).toEqual([
      'caddy is not installed: deployments will publish ports directly without zero-downtime switching; apt-get install caddy',
    ]);
    expect(existsSync(path.join(dataDir, 'caddy'))).toBe(false);
  });
});
