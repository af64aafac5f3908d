import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaddyAdmin } from '../../../agent/edge/caddy-admin.js';
import { type CaddyEdge, createCaddyEdge } from '../../../agent/edge/caddy-edge.js';
import type { EdgeRoute, EdgeSyncPayload } from '../../../shared/edge-command.js';
import { freePort } from '../../../shared/free-port.js';
import { createLogger } from '../../../shared/logger.js';
import { type PrivateCaddy, startCaddy } from '../../helpers/caddy.js';
import { type PrivatePebble, startPebble } from '../../helpers/pebble.js';

/**
 * The edge on a real Caddy 2.6 and a real ACME CA (Pebble): host routes over plain HTTP, Berth's own redirect to
 * HTTPS, a certificate obtained by ACME and served on SNI, and syncs that touch nothing but Berth's objects.
 */

const log = createLogger({ level: 'silent', name: 'test' });

let caddy: PrivateCaddy;
let pebble: PrivatePebble;
let backend: http.Server;
let backendPort: number;
let stateDir: string;
let httpPort: number;
let httpsPort: number;
let edge: CaddyEdge;
const writes: string[] = [];

const route = (routeId: string, hostname: string, tls: EdgeRoute['tls'], pathPrefix = '/'): EdgeRoute => ({
  routeId,
  hostname,
  pathPrefix,
  resourceId: 'res-web',
  targetPort: 8080,
  tls,
  redirect: null,
});

const documentV = (version: number, routes: EdgeRoute[]): EdgeSyncPayload => ({
  version,
  proxyKind: 'caddy',
  routes,
  certificates: [],
});

const baseRoutes = [route('web-plain', 'plain.example.test', 'none'), route('web', 'app.example.test', 'acme')];

/** Like `curl --resolve host:port:127.0.0.1`: every name is looked up as loopback. */
const loopback: LookupFunction = (_hostname, options, callback) => {
  if ((options as { all?: boolean }).all)
    (callback as (e: null, a: unknown[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

function request(
  scheme: 'http' | 'https',
  host: string,
  port: number,
  ca?: string,
): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const client = scheme === 'http' ? http : https;
    const req = client.get(
      { host, port, path: '/hello?x=1', lookup: loopback, servername: host, ca, agent: false, timeout: 5000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, location: response.headers.location, body }),
        );
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function caddyConfigText(): Promise<string> {
  return (await fetch(`${caddy.adminUrl}/config/`)).text();
}

async function caddyConfig(): Promise<{ apps?: { http?: { servers?: Record<string, { routes?: unknown[] }> } } }> {
  return JSON.parse(await caddyConfigText());
}

beforeAll(async () => {
  [caddy, pebble] = await Promise.all([startCaddy(), startPebble()]);
  backend = http.createServer((req, res) => res.end(`backend saw ${req.headers.host} ${req.url}`));
  backend.listen(0, '127.0.0.1');
  await new Promise((r) => backend.once('listening', r));
  backendPort = (backend.address() as AddressInfo).port;
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'berth-edge-'));
  [httpPort, httpsPort] = [await freePort(), await freePort()];
  // Counts what reaches Caddy's admin API besides reads: the proof that syncs are diff-only.
  const counting: typeof fetch = (input, init) => {
    if (init?.method && init.method !== 'GET') writes.push(`${init.method} ${String(input)}`);
    return fetch(input, init);
  };
  edge = createCaddyEdge({
    adminUrl: caddy.adminUrl,
    admin: createCaddyAdmin({ adminUrl: caddy.adminUrl, fetch: counting }),
    stateDir,
    httpPort,
    httpsPort,
    acme: { directoryUrl: pebble.directoryUrl, email: 'ops@example.test', caRootsFile: pebble.caRootsFile },
    // Nothing answers on this port: Caddy's lookup fails and it falls back to the static upstream (the backend).
    upstreams: { address: `127.0.0.1:${await freePort()}`, get: () => null },
    fallback: () => ({ host: '127.0.0.1', port: backendPort }),
    log,
  });
});

afterAll(async () => {
  await edge?.stop();
  await Promise.all([caddy?.stop(), pebble?.stop(), new Promise((r) => backend?.close(r))]);
  await rm(stateDir, { recursive: true, force: true });
});

describe('the edge on a real Caddy and Pebble', () => {
  it('serves plain HTTP, redirects a TLS host to HTTPS and serves it with a certificate from the ACME CA', async () => {
    const started = Date.now();
    const result = await edge.sync(documentV(1, baseRoutes));
    expect(result).toMatchObject({ version: 1, status: 'ready', changed: true, httpPort, httpsPort });

    const plain = await request('http', 'plain.example.test', httpPort);
    expect(plain).toMatchObject({ status: 200, body: `backend saw plain.example.test:${httpPort} /hello?x=1` });
    const upgrade = await request('http', 'app.example.test', httpPort);
    expect(upgrade.status).toBe(308);
    expect(upgrade.location).toBe(`https://app.example.test:${httpsPort}/hello?x=1`);

    // The chain is verified against Pebble's issuing root: a real ACME certificate, not Caddy's internal CA.
    const root = await pebble.issuerRootPem();
    let answer: Awaited<ReturnType<typeof request>> | null = null;
    while (answer === null && Date.now() - started < 25_000) {
      answer = await request('https', 'app.example.test', httpsPort, root).catch(() => null);
      if (answer === null) await new Promise((r) => setTimeout(r, 200));
    }
    const tookMs = Date.now() - started;
    expect(answer).toMatchObject({ status: 200, body: `backend saw app.example.test:${httpsPort} /hello?x=1` });
    console.info(`edge e2e: sync to first HTTPS answer with a Pebble certificate took ${tookMs} ms`);

    const inspected = await edge.inspect({ tlsHostnames: ['app.example.test', 'plain.example.test'] });
    expect(inspected).toMatchObject({ reachable: true, appliedVersion: 1, foreignRouteCount: 0 });
    const [served, unserved] = inspected.certificates;
    expect(served).toMatchObject({ hostname: 'app.example.test', served: true, error: '' });
    expect(served?.issuer).toContain('Pebble');
    expect(served?.subjectAlternativeNames).toEqual(['DNS:app.example.test']);
    expect(served?.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(unserved).toMatchObject({ hostname: 'plain.example.test', served: false });
    expect(inspected.routes.map((r) => [r.routeId, r.scheme, r.behavior, r.upstreamName, r.upstreamPort])).toEqual([
      ['web', 'http', 'redirect', null, null],
      ['web-plain', 'http', 'serve', 'res-web.berth.internal', 8080],
      ['web', 'https', 'serve', 'res-web.berth.internal', 8080],
    ]);
  });

  it('keeps routes and servers added by hand, and writes nothing for a document Caddy already serves', async () => {
    const handServer = {
      listen: [`127.0.0.1:${await freePort()}`],
      routes: [{ handle: [{ handler: 'static_response', body: 'hand' }] }],
    };
    await fetch(`${caddy.adminUrl}/config/apps/http/servers/hand`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(handServer),
    });
    const handRoute = {
      match: [{ host: ['hand.example.test'] }],
      handle: [{ handler: 'static_response', body: 'by hand' }],
    };
    await fetch(`${caddy.adminUrl}/config/apps/http/servers/berth-edge-http/routes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(handRoute),
    });

    const withApi = [...baseRoutes, route('web-api', 'app.example.test', 'acme', '/api')];
    expect(await edge.sync(documentV(2, withApi))).toMatchObject({ version: 2, changed: true });
    const config = await caddyConfig();
    expect(config.apps?.http?.servers?.['hand']).toEqual(handServer);
    expect(config.apps?.http?.servers?.['berth-edge-http']?.routes?.at(-1)).toEqual(handRoute);
    expect((await request('http', 'hand.example.test', httpPort)).body).toBe('by hand');

    const before = await caddyConfigText();
    writes.length = 0;
    expect(await edge.sync(documentV(2, withApi))).toMatchObject({ version: 2, changed: false });
    expect(await edge.sync(documentV(3, withApi))).toMatchObject({ version: 3, changed: false });
    expect(writes).toEqual([]);
    expect(await caddyConfigText()).toBe(before);
    expect((await edge.inspect({ tlsHostnames: [] })).foreignRouteCount).toBe(2);
  });

  it('removes exactly the objects of a route that left the document', async () => {
    const before = await caddyConfig();
    expect(await edge.sync(documentV(4, baseRoutes))).toMatchObject({ version: 4, changed: true });
    const after = await caddyConfig();
    const withoutApi = structuredClone(before) as Record<string, any>;
    const dropId = (routes: Array<{ '@id'?: string }>, id: string) => routes.filter((r) => r['@id'] !== id);
    const servers = withoutApi['apps'].http.servers;
    servers['berth-edge-http'].routes = dropId(servers['berth-edge-http'].routes, 'berth-edge-web-api.http');
    servers['berth-edge-https'].routes = dropId(servers['berth-edge-https'].routes, 'berth-edge-web-api');
    expect(after).toEqual(withoutApi);
  });

  it('leaves Caddy exactly as it was when Caddy refuses a document, and keeps a newer version than one sent late', async () => {
    const before = await caddyConfigText();
    const broken: EdgeSyncPayload = {
      ...documentV(5, [...baseRoutes, route('shop', 'shop.example.test', 'imported')]),
      certificates: [
        {
          certificateId: 'crt-1',
          hostnames: ['shop.example.test'],
          chainPem: 'not a certificate',
          keyPem: 'not a key',
        },
      ],
    };
    await expect(edge.sync(broken)).rejects.toMatchObject({ code: 'proxy_rejected' });
    expect(await caddyConfigText()).toBe(before);

    writes.length = 0;
    expect(await edge.sync(documentV(2, []))).toMatchObject({ version: 4, changed: false });
    expect(writes).toEqual([]);
  });

  it('removes only its own objects when the edge is disabled', async () => {
    const result = await edge.sync({ ...documentV(6, baseRoutes), proxyKind: 'none' });
    expect(result).toMatchObject({ version: 6, status: 'disabled', changed: true });
    const config = (await caddyConfig()) as Record<string, any>;
    expect(Object.keys(config['apps'].http.servers).sort()).toEqual(['berth-edge-http', 'hand']);
    expect(config['apps'].http.servers['berth-edge-http'].routes).toHaveLength(1);
    expect(config['apps'].tls).toBeUndefined();
  });
});
