import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/free-port.js';
import { createLogger } from '../../shared/logger.js';
import { type PrivateCaddy, startCaddy } from '../../test/helpers/caddy.js';
import { startUpstreamResolver, type UpstreamResolver } from '../edge/resolver.js';
import { upstreamRefreshMs } from '../edge/upstream.js';
import {
  type CaddyServerConfig,
  caddyServerConfig,
  checkListenerMigration,
  createCaddyTrafficSwitch,
  type TrafficSwitch,
  TrafficSwitchError,
} from './traffic-switch.js';

const log = createLogger({ level: 'silent', name: 'test' });
const migrateReqFile = '/proc/sys/net/ipv4/tcp_migrate_req';

interface Upstream {
  name: string;
  port: number;
  server: http.Server;
}

/**
 * A loopback HTTP server answering its name; `/slow` answers after one second, `/stream` sends its name every
 * 50 ms until the client goes. `host` other than 127.0.0.1 stands for a container's address on a bridge.
 */
async function upstream(name: string, host = '127.0.0.1', port = 0): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    if (req.url === '/stream') {
      const timer = setInterval(() => res.write(`${name}\n`), 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    setTimeout(() => res.end(name), req.url === '/slow' ? 1000 : 0);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return { name, port: (server.address() as AddressInfo).port, server };
}

/** One GET to 127.0.0.1:`port`; resolves to the body of a 200 and rejects on anything else. */
/** The status Caddy answers on `port`, whatever the body. */
async function status(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).status;
}

function get(port: number, agent: http.Agent | false, path = '/', sockets?: Set<unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      sockets?.add(res.socket);
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let caddy: PrivateCaddy;
let traffic: TrafficSwitch;
let a: Upstream;
let b: Upstream;
let previousMigrateReq: string | undefined;
const calls: string[] = [];

beforeAll(async () => {
  [caddy, a, b] = await Promise.all([startCaddy(), upstream('A'), upstream('B')]);
  const recording: typeof fetch = (input, init) => {
    calls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
    return fetch(input, init);
  };
  traffic = createCaddyTrafficSwitch({ adminUrl: caddy.adminUrl, log, fetch: recording });
  previousMigrateReq = await readFile(migrateReqFile, 'utf8').catch(() => undefined);
});

afterAll(async () => {
  if (previousMigrateReq?.trim() === '0') await writeFile(migrateReqFile, previousMigrateReq).catch(() => undefined);
  await caddy?.stop();
  for (const u of [a, b]) u?.server.closeAllConnections();
  await Promise.all([a, b].map((u) => u && new Promise((resolve) => u.server.close(resolve))));
});

describe('the Caddy traffic switch with static upstreams (no resolver)', () => {
  it('creates a loopback listener that answers from the upstream', async () => {
    const listenPort = await freePort();
    await traffic.route({ resourceId: 'res-one', listenPort, upstream: { host: '127.0.0.1', port: a.port } });
    expect(await get(listenPort, false)).toBe('A');
    const config = await (await fetch(`${caddy.adminUrl}/config/apps/http/servers/berth-res-one`)).json();
    expect(config).toEqual(
      caddyServerConfig({ resourceId: 'res-one', listenPort, upstream: { host: '127.0.0.1', port: a.port } }),
    );
  });

  it('switches a static route by patching only its upstreams, and reads the route back', async () => {
    const before = await traffic.current('res-one');
    calls.length = 0;
    await traffic.route({ ...before!, upstream: { host: '127.0.0.1', port: b.port } });
    expect(calls).toEqual(['GET /config/', 'PATCH /id/berth-route-res-one/handle/0/upstreams']);
    expect(await get(before!.listenPort, false)).toBe('B');
    const now = {
      resourceId: 'res-one',
      listenPort: before!.listenPort,
      upstream: { host: '127.0.0.1', port: b.port },
    };
    expect(await traffic.current('res-one')).toEqual(now);
    expect(await traffic.list()).toEqual([now]);
  });

  it('routing to the upstream already in place changes nothing in Caddy', async () => {
    const now = await traffic.current('res-one');
    calls.length = 0;
    await traffic.route(now!);
    expect(calls).toEqual(['GET /config/']);
  });

  it('moves the resource to a new listen port when asked, closing the old one', async () => {
    const old = (await traffic.current('res-one'))!;
    const listenPort = await freePort();
    await traffic.route({ ...old, listenPort });
    expect(await get(listenPort, false)).toBe('B');
    await expect(get(old.listenPort, false)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('leaves servers it did not create alone and does not list them', async () => {
    const foreign = { listen: [`127.0.0.1:${await freePort()}`], automatic_https: { disable: true } };
    await fetch(`${caddy.adminUrl}/config/apps/http/servers/someone-else`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(foreign),
    });
    const two = { resourceId: 'res-two', listenPort: await freePort(), upstream: { host: '127.0.0.1', port: a.port } };
    await traffic.route(two);
    await traffic.remove('res-two');
    expect((await traffic.list()).map((r) => r.resourceId)).toEqual(['res-one']);
    const kept = await (await fetch(`${caddy.adminUrl}/config/apps/http/servers/someone-else`)).json();
    expect(kept).toEqual(foreign);
  });

  it('keeps its routes across a Caddy restart (autosave and --resume)', async () => {
    const before = await traffic.current('res-one');
    await caddy.restart();
    expect(await traffic.current('res-one')).toEqual(before);
    expect(await get(before!.listenPort, false)).toBe('B');
  });

  it('remove closes the listener; removing a route that is not there is no error', async () => {
    const { listenPort } = (await traffic.current('res-one'))!;
    await traffic.remove('res-one');
    expect(await traffic.current('res-one')).toBeNull();
    await expect(get(listenPort, false)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(traffic.remove('res-one')).resolves.toBeUndefined();
  });

  it('fails with proxy_unavailable when nothing answers at the admin URL', async () => {
    const nowhere = createCaddyTrafficSwitch({ adminUrl: `http://127.0.0.1:${await freePort()}`, log });
    const error = await nowhere.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrafficSwitchError);
    expect(error).toMatchObject({ code: 'proxy_unavailable', message: expect.stringContaining('ECONNREFUSED') });
  });

  it("fails with proxy_rejected and Caddy's reason when Caddy refuses the config", async () => {
    const squatter = http.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const listenPort = (squatter.address() as AddressInfo).port;
    try {
      const route = { resourceId: 'res-taken', listenPort, upstream: { host: '127.0.0.1', port: a.port } };
      const error = await traffic.route(route).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'proxy_rejected',
        message: expect.stringContaining('address already in use'),
      });
      expect(await traffic.current('res-taken')).toBeNull();
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

describe('the tcp_migrate_req check', () => {
  it('turns the setting on when asked, only warns when not, and treats an unreadable setting as off', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-sysctl-'));
    const file = path.join(dir, 'tcp_migrate_req');
    const warned: string[] = [];
    const capture = createLogger({
      level: 'info',
      name: 'test',
      destination: { write: (line: string) => void warned.push(JSON.parse(line).level) },
    });
    try {
      await writeFile(file, '0\n');
      expect(await checkListenerMigration({ log: capture, enable: false, file })).toBe(false);
      expect(await readFile(file, 'utf8')).toBe('0\n');
      expect(await checkListenerMigration({ log: capture, enable: true, file })).toBe(true);
      expect(await readFile(file, 'utf8')).toBe('1\n');
      expect(await checkListenerMigration({ log: capture, enable: true, file: path.join(dir, 'none') })).toBe(false);
      expect(warned).toEqual(['warn', 'info', 'warn']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('switching under load', () => {
  beforeAll(async () => {
    // Caddy 2.6 rebinds its listeners on every config change; see checkListenerMigration.
    const enabled = await checkListenerMigration({ log, enable: true });
    expect(enabled, `these tests need ${migrateReqFile} = 1 (run as root, Linux >= 5.14)`).toBe(true);
  });

  it('fails no request, keep-alive or fresh, while the route flips between two upstreams every 250 ms', async () => {
    const listenPort = await freePort();
    const route = { resourceId: 'res-load', listenPort, upstream: { host: '127.0.0.1', port: a.port } };
    await traffic.route(route);
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const served = { A: 0, B: 0 } as Record<string, number>;
    const failures: string[] = [];
    let running = true;
    const client = async (agent: http.Agent | false) => {
      while (running) {
        try {
          const name = await get(listenPort, agent);
          served[name] = (served[name] ?? 0) + 1;
        } catch (error) {
          failures.push((error as NodeJS.ErrnoException).code ?? (error as Error).message);
        }
      }
    };
    const clients = [client(keepAlive), client(keepAlive), client(false), client(false)];
    let switches = 0;
    for (const end = Date.now() + 5000; Date.now() < end; switches++) {
      await sleep(250);
      await traffic.route({ ...route, upstream: { host: '127.0.0.1', port: switches % 2 === 0 ? b.port : a.port } });
    }
    running = false;
    await Promise.all(clients);
    keepAlive.destroy();
    await traffic.remove('res-load');

    expect(switches).toBeGreaterThanOrEqual(15);
    expect(failures).toEqual([]);
    expect(served['A']).toBeGreaterThan(100);
    expect(served['B']).toBeGreaterThan(100);
  });

  it('lets a slow request started before a switch finish on the old upstream', async () => {
    const listenPort = await freePort();
    const route = { resourceId: 'res-slow', listenPort, upstream: { host: '127.0.0.1', port: a.port } };
    await traffic.route(route);
    const arrived = once(a.server, 'request');
    const slow = get(listenPort, false, '/slow');
    await arrived;
    await traffic.route({ ...route, upstream: { host: '127.0.0.1', port: b.port } });
    expect(await get(listenPort, false)).toBe('B');
    expect(await slow).toBe('A');
    await traffic.remove('res-slow');
  });
});

describe('switching through the resolver', () => {
  let dir: string;
  let resolver: UpstreamResolver;
  let dynamic: TrafficSwitch;
  let c: Upstream;
  let d: Upstream;
  const switchCalls: string[] = [];
  const config = async () => (await fetch(`${caddy.adminUrl}/config/`)).text();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-switch-'));
    resolver = await startUpstreamResolver({ host: '127.0.0.1', port: 0, file: path.join(dir, 'r.json'), log });
    // Two "containers" on one internal port, as two addresses of a bridge network would be.
    c = await upstream('C', '127.0.0.2');
    d = await upstream('D', '127.0.0.3', c.port);
    const recording: typeof fetch = (input, init) => {
      switchCalls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    };
    dynamic = createCaddyTrafficSwitch({ adminUrl: caddy.adminUrl, log, resolver, fetch: recording });
  });

  afterAll(async () => {
    for (const u of [c, d]) u?.server.closeAllConnections();
    await Promise.all([c, d].map((u) => u && new Promise((resolve) => u.server.close(resolve))));
    await resolver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const at = (u: Upstream) => ({ host: u === c ? '127.0.0.2' : '127.0.0.3', port: u.port });

  it('writes the server once, with the name as a dynamic upstream and no static fallback', async () => {
    const route = { resourceId: 'res-dns', listenPort: await freePort(), upstream: at(c) };
    await dynamic.route(route);
    expect(await get(route.listenPort, false)).toBe('C');
    const server = (await (
      await fetch(`${caddy.adminUrl}/config/apps/http/servers/berth-res-dns`)
    ).json()) as CaddyServerConfig;
    expect(server).toEqual(caddyServerConfig(route, resolver.address));
    expect(server.routes[0].handle[0]).toMatchObject({
      dynamic_upstreams: { source: 'a', name: 'res-dns.berth.internal', port: String(c.port) },
    });
    expect(server.routes[0].handle[0]).not.toHaveProperty('upstreams');
    expect(resolver.get('res-dns')).toBe('127.0.0.2');
    expect(await dynamic.current('res-dns')).toEqual(route);
  });

  it('switches by changing the record only: Caddy config byte-identical, settled when route resolves', async () => {
    const before = (await dynamic.current('res-dns'))!;
    const configBefore = await config();
    switchCalls.length = 0;
    const started = Date.now();
    await dynamic.route({ ...before, upstream: at(d) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(upstreamRefreshMs + 400);
    expect(switchCalls).toEqual(['GET /config/']);
    expect(await config()).toBe(configBefore);
    for (let i = 0; i < 5; i++) expect(await get(before.listenPort, false)).toBe('D');
    expect(await dynamic.current('res-dns')).toEqual({ ...before, upstream: at(d) });
    switchCalls.length = 0;
    await dynamic.route({ ...before, upstream: at(d) });
    expect(switchCalls).toEqual(['GET /config/']);
  });

  it("leaves another resource's stream and idle keep-alive connection alone during switches", async () => {
    const other = { resourceId: 'res-other', listenPort: await freePort(), upstream: at(c) };
    await dynamic.route(other);
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    expect(await get(other.listenPort, keepAlive, '/', sockets)).toBe('C');
    let streamed = 0;
    let streamError: unknown = null;
    const stream = http.get({ host: '127.0.0.1', port: other.listenPort, path: '/stream', agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        streamed += chunk.length;
      });
      res.on('error', (error) => {
        streamError = error;
      });
    });
    stream.on('error', (error) => {
      streamError = error;
    });
    await sleep(200);
    const route = (await dynamic.current('res-dns'))!;
    for (const u of [c, d, c]) await dynamic.route({ ...route, upstream: at(u) });
    const before = streamed;
    await sleep(300);
    expect(streamed).toBeGreaterThan(before);
    expect(streamError).toBeNull();
    expect(await get(other.listenPort, keepAlive, '/', sockets)).toBe('C');
    expect(sockets.size).toBe(1);
    stream.destroy();
    keepAlive.destroy();
    await dynamic.remove('res-other');
  });

  it('fails no request, keep-alive or fresh, while the record flips between two containers', async () => {
    const route = (await dynamic.current('res-dns'))!;
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const served: Record<string, number> = {};
    const failures: string[] = [];
    let running = true;
    const client = async (agent: http.Agent | false) => {
      while (running) {
        try {
          const name = await get(route.listenPort, agent);
          served[name] = (served[name] ?? 0) + 1;
        } catch (error) {
          failures.push((error as NodeJS.ErrnoException).code ?? (error as Error).message);
        }
      }
    };
    const clients = [client(keepAlive), client(keepAlive), client(false), client(false)];
    for (const u of [d, c, d, c]) await dynamic.route({ ...route, upstream: at(u) });
    running = false;
    await Promise.all(clients);
    keepAlive.destroy();
    expect(failures).toEqual([]);
    expect(served['C']).toBeGreaterThan(50);
    expect(served['D']).toBeGreaterThan(50);
  });

  it('answers 503 rather than reach a container address that may be stale while the resolver does not answer', async () => {
    const route = { resourceId: 'res-fallback', listenPort: await freePort(), upstream: at(c) };
    const alone = await startUpstreamResolver({
      host: '127.0.0.1',
      port: 0,
      file: path.join(dir, 'alone.json'),
      log,
    });
    const viaAlone = createCaddyTrafficSwitch({ adminUrl: caddy.adminUrl, log, resolver: alone });
    await viaAlone.route(route);
    await viaAlone.route({ ...route, upstream: at(d) });
    expect(await get(route.listenPort, false)).toBe('D');
    await alone.close();
    await sleep(upstreamRefreshMs + 200);
    expect(await status(route.listenPort)).toBe(503);
    await viaAlone.remove('res-fallback');
  });

  it('rewrites the server for another internal port, and remove drops the record', async () => {
    const route = (await dynamic.current('res-dns'))!;
    const e = await upstream('E', '127.0.0.2');
    try {
      switchCalls.length = 0;
      await dynamic.route({ ...route, upstream: { host: '127.0.0.2', port: e.port } });
      expect(switchCalls).toEqual(['GET /config/', 'PATCH /config/apps/http/servers/berth-res-dns']);
      expect(await get(route.listenPort, false)).toBe('E');
      await dynamic.remove('res-dns');
      expect(resolver.get('res-dns')).toBeNull();
      expect(await dynamic.current('res-dns')).toBeNull();
    } finally {
      e.server.closeAllConnections();
      await new Promise((resolve) => e.server.close(resolve));
    }
  });
});
