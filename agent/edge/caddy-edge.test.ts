import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeRoute, EdgeSyncPayload } from '../../shared/edge-command.js';
import { freePort } from '../../shared/free-port.js';
import { createLogger } from '../../shared/logger.js';
import { type PrivateCaddy, startCaddy } from '../../test/helpers/caddy.js';
import { handleEdgeSync } from '../handlers/edge.js';
import { createCaddyAdmin, fnv1a32 } from './caddy-admin.js';
import { type CaddyEdge, type CaddyEdgeOptions, createCaddyEdge } from './caddy-edge.js';
import { buildEdgeObjects, type EdgeBuildOptions } from './edge-document.js';
import { mergeEdgeObjects } from './edge-merge.js';
import { readServedRoutes } from './served-routes.js';

const log = createLogger({ level: 'silent', name: 'test' });

const route = (overrides: Partial<EdgeRoute> & Pick<EdgeRoute, 'routeId' | 'hostname'>): EdgeRoute => ({
  pathPrefix: '/',
  resourceId: 'res-web',
  targetPort: 3000,
  tls: 'none',
  redirect: null,
  ...overrides,
});

const doc = (version: number, routes: EdgeRoute[], extra: Partial<EdgeSyncPayload> = {}): EdgeSyncPayload => ({
  version,
  proxyKind: 'caddy',
  routes,
  certificates: [],
  ...extra,
});

const build: EdgeBuildOptions = {
  httpPort: 80,
  httpsPort: 443,
  acme: { directoryUrl: 'https://acme.test/dir', email: 'ops@example.com', caRootsFile: '/etc/roots.pem' },
  resolver: '127.0.0.1:5335',
  fallback: () => null,
};

describe('buildEdgeObjects', () => {
  it('serves plain routes on the HTTP server and TLS routes on the HTTPS server, with Berth’s own redirect', () => {
    const objects = buildEdgeObjects(
      doc(1, [
        route({ routeId: 'b', hostname: 'app.example.com', tls: 'acme' }),
        route({ routeId: 'a', hostname: 'plain.example.com' }),
      ]),
      build,
    );
    expect(objects.servers['berth-edge-http']).toEqual({
      listen: [':80'],
      automatic_https: { disable: true },
      routes: [
        {
          '@id': 'berth-edge-b.http',
          match: [{ host: ['app.example.com'] }],
          handle: [
            {
              handler: 'static_response',
              status_code: 308,
              headers: { Location: ['https://{http.request.host}{http.request.uri}'] },
            },
          ],
          terminal: true,
        },
        {
          '@id': 'berth-edge-a',
          match: [{ host: ['plain.example.com'] }],
          handle: [
            {
              handler: 'reverse_proxy',
              dynamic_upstreams: {
                source: 'a',
                name: 'res-web.berth.internal',
                port: '3000',
                refresh: '1000ms',
                resolver: { addresses: ['udp/127.0.0.1:5335'] },
              },
              transport: { protocol: 'http', dial_timeout: '1s' },
            },
          ],
          terminal: true,
        },
      ],
    });
    expect(objects.servers['berth-edge-https']).toMatchObject({
      listen: [':443'],
      tls_connection_policies: [{}],
      automatic_https: { disable_redirects: true },
      routes: [{ '@id': 'berth-edge-b', match: [{ host: ['app.example.com'] }] }],
    });
    expect(objects.policies).toEqual([
      {
        '@id': 'berth-tls-b',
        subjects: ['app.example.com'],
        issuers: [
          {
            module: 'acme',
            ca: 'https://acme.test/dir',
            email: 'ops@example.com',
            trusted_roots_pem_files: ['/etc/roots.pem'],
          },
        ],
      },
    ]);
  });

  it('orders longer path prefixes first and exact hosts before wildcards, whatever the document order', () => {
    const routes = [
      route({ routeId: 'w', hostname: '*.example.com' }),
      route({ routeId: 'root', hostname: 'a.example.com' }),
      route({ routeId: 'api', hostname: 'a.example.com', pathPrefix: '/api' }),
    ];
    const ids = (r: EdgeRoute[]) =>
      (
        (buildEdgeObjects(doc(1, r), build).servers['berth-edge-http']?.['routes'] ?? []) as Array<{ '@id': string }>
      ).map((x) => x['@id']);
    expect(ids(routes)).toEqual(['berth-edge-api', 'berth-edge-root', 'berth-edge-w']);
    expect(ids([...routes].reverse())).toEqual(ids(routes));
    const api = buildEdgeObjects(doc(1, routes), build).servers['berth-edge-http']?.['routes'] as Array<{
      match: unknown;
    }>;
    expect(api[0]?.match).toEqual([{ host: ['a.example.com'], path: ['/api*'] }]);
  });

  it('redirects to the canonical host over HTTPS when Berth serves it with TLS, keeping the port off the standard', () => {
    const objects = buildEdgeObjects(
      doc(1, [
        route({ routeId: 'main', hostname: 'example.com', tls: 'acme' }),
        route({ routeId: 'www', hostname: 'www.example.com', redirect: { to: 'example.com', status: 301 } }),
      ]),
      { ...build, httpPort: 8080, httpsPort: 8443 },
    );
    const http = objects.servers['berth-edge-http']?.['routes'] as Array<{ '@id': string; handle: unknown[] }>;
    expect(http.find((r) => r['@id'] === 'berth-edge-www')?.handle).toEqual([
      {
        handler: 'static_response',
        status_code: 301,
        headers: { Location: ['https://example.com:8443{http.request.uri}'] },
      },
    ]);
    // Off the standard ports the CA is told where the challenges are answered.
    expect(objects.policies[0]?.['issuers']).toMatchObject([
      { challenges: { http: { alternate_port: 8080 }, 'tls-alpn': { alternate_port: 8443 } } },
    ]);
  });

  it('loads imported certificates tagged by id and never asks the ACME CA for their hosts', () => {
    const objects = buildEdgeObjects(
      doc(1, [route({ routeId: 'shop', hostname: 'shop.example.com', tls: 'imported' })], {
        certificates: [{ certificateId: 'crt-1', hostnames: ['shop.example.com'], chainPem: 'CHAIN', keyPem: 'KEY' }],
      }),
      build,
    );
    expect(objects.certificates).toEqual([{ certificate: 'CHAIN', key: 'KEY', tags: ['berth-cert-crt-1'] }]);
    expect(objects.policies).toEqual([]);
    expect(objects.servers['berth-edge-https']?.['automatic_https']).toEqual({
      disable_redirects: true,
      skip_certificates: ['shop.example.com'],
    });
  });

  it('builds nothing for proxyKind none', () => {
    expect(
      buildEdgeObjects(doc(1, [route({ routeId: 'a', hostname: 'a.test' })], { proxyKind: 'none' }), build),
    ).toEqual({
      servers: {},
      policies: [],
      certificates: [],
    });
  });
});

describe('mergeEdgeObjects', () => {
  const foreign = {
    admin: { listen: '127.0.0.1:2019' },
    apps: {
      http: { servers: { mine: { listen: [':9000'], routes: [{ handle: [{ handler: 'static_response' }] }] } } },
      tls: { automation: { policies: [{ issuers: [{ module: 'internal' }] }] } },
    },
  };

  it('adds Berth’s objects before foreign policies and gives the config back exactly when they are removed', () => {
    const objects = buildEdgeObjects(doc(1, [route({ routeId: 'a', hostname: 'a.test', tls: 'acme' })]), build);
    const merged = mergeEdgeObjects(foreign, objects) as typeof foreign & Record<string, any>;
    expect(Object.keys(merged.apps.http.servers).sort()).toEqual(['berth-edge-http', 'berth-edge-https', 'mine']);
    expect((merged.apps.tls.automation.policies as Array<{ '@id'?: string }>).map((p) => p['@id'])).toEqual([
      'berth-tls-a',
      undefined,
    ]);
    expect(mergeEdgeObjects(merged, { servers: {}, policies: [], certificates: [] })).toEqual(foreign);
    expect(mergeEdgeObjects(null, { servers: {}, policies: [], certificates: [] })).toEqual({});
  });

  it('keeps the fallback Caddy has when only the fallback differs', () => {
    const withFallback = { ...build, fallback: () => ({ host: '172.18.0.5', port: 3000 }) };
    const routes = [route({ routeId: 'a', hostname: 'a.test' })];
    const first = mergeEdgeObjects(null, buildEdgeObjects(doc(1, routes), withFallback));
    const moved = { ...build, fallback: () => ({ host: '172.18.0.9', port: 3000 }) };
    expect(mergeEdgeObjects(first, buildEdgeObjects(doc(1, routes), moved))).toEqual(first);
  });
});

describe('fnv1a32', () => {
  it('hashes as Caddy’s ETag does', () => {
    // The ETag Caddy 2.6.2 sent for this exact body.
    expect(fnv1a32(new TextEncoder().encode('{"admin":{"listen":"127.0.0.1:23019"}}\n'))).toBe('a1181505');
  });
});

describe('the edge on a real Caddy', () => {
  let caddy: PrivateCaddy;
  let stateDir: string;
  const writes: string[] = [];
  const edges: CaddyEdge[] = [];

  function newEdge(overrides: Partial<CaddyEdgeOptions> = {}): CaddyEdge {
    const counting: typeof fetch = (input, init) => {
      if (init?.method && init.method !== 'GET') writes.push(`${init.method} ${String(input)}`);
      return fetch(input, init);
    };
    const edge = createCaddyEdge({
      adminUrl: caddy.adminUrl,
      admin: createCaddyAdmin({ adminUrl: caddy.adminUrl, fetch: counting }),
      stateDir,
      httpPort: httpPortFor,
      httpsPort: httpsPortFor,
      acme: build.acme,
      upstreams: { address: '127.0.0.1:1', get: (id) => (id === 'res-web' ? '172.18.0.7' : null) },
      log,
      ...overrides,
    });
    edges.push(edge);
    return edge;
  }
  let httpPortFor: number;
  let httpsPortFor: number;

  beforeAll(async () => {
    caddy = await startCaddy();
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'berth-edge-unit-'));
    [httpPortFor, httpsPortFor] = [await freePort(), await freePort()];
  });

  afterAll(async () => {
    for (const edge of edges) await edge.stop();
    await caddy?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('persists the applied document (0600) and reads its routes back, with what the resolver answers', async () => {
    const edge = newEdge();
    const routes = [route({ routeId: 'web', hostname: 'a.example.test' })];
    expect(await edge.sync(doc(7, routes))).toMatchObject({ version: 7, status: 'ready', changed: true });
    const file = path.join(stateDir, 'edge', 'applied.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ version: 7, document: { routes } });
    const inspected = await edge.inspect({ tlsHostnames: [] });
    expect(inspected.routes).toEqual([
      {
        routeId: 'web',
        hostname: 'a.example.test',
        pathPrefix: '/',
        scheme: 'http',
        behavior: 'serve',
        redirectTo: null,
        redirectStatus: null,
        resourceId: 'res-web',
        upstreamName: 'res-web.berth.internal',
        upstreamPort: 3000,
        resolvedUpstream: '172.18.0.7',
      },
    ]);
    expect((await edge.inspect({ tlsHostnames: [], resourceIds: ['res-other'] })).routes).toEqual([]);
  });

  it('puts the applied document back when Caddy lost it, and only then', async () => {
    // A new agent process: it loads the applied document from the state folder.
    const edge = newEdge({ recheckMs: 50 });
    await edge.start();
    await new Promise((r) => setTimeout(r, 200));
    writes.length = 0;
    await fetch(`${caddy.adminUrl}/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ admin: { listen: new URL(caddy.adminUrl).host } }),
    });
    const deadline = Date.now() + 5000;
    let servers: Record<string, unknown> | undefined;
    while (Date.now() < deadline && !servers?.['berth-edge-http']) {
      await new Promise((r) => setTimeout(r, 50));
      servers = ((await (await fetch(`${caddy.adminUrl}/config/`)).json()) as any)?.apps?.http?.servers;
    }
    expect(Object.keys(servers ?? {})).toEqual(['berth-edge-http']);
    await new Promise((r) => setTimeout(r, 300));
    // One write puts it back; the re-checks after it find nothing to do.
    expect(writes).toHaveLength(1);
    await edge.stop();
  });

  it('answers proxy_unavailable through the handler when no Caddy answers, and inspect says unreachable', async () => {
    const adminUrl = `http://127.0.0.1:${await freePort()}`;
    const edge = newEdge({
      adminUrl,
      admin: createCaddyAdmin({ adminUrl }),
      stateDir: await mkdtemp(path.join(os.tmpdir(), 'berth-edge-none-')),
    });
    const outcome = await handleEdgeSync(doc(1, []), edge);
    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'proxy_unavailable' });
    const inspected = await edge.inspect({ tlsHostnames: ['a.example.test'] });
    expect(inspected).toMatchObject({ reachable: false, routes: [], appliedVersion: 0 });
    expect(inspected.error).toContain('no Caddy admin API answers');
    expect(inspected.certificates[0]).toMatchObject({ served: false });
  });

  it('answers invalid_payload for a resource id that is not a DNS label', async () => {
    const outcome = await handleEdgeSync(
      doc(8, [route({ routeId: 'x', hostname: 'x.test', resourceId: 'Res_X' })]),
      newEdge(),
    );
    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'invalid_payload' });
  });

  it('adopts a Caddy that answers and tells its version', async () => {
    expect(await newEdge().bootstrap()).toMatchObject({
      action: 'adopted',
      caddyVersion: '2.6.2',
      adminUrl: caddy.adminUrl,
    });
  });

  it('starts Caddy detached when none answers, with its state in the agent’s folder', async () => {
    const adminUrl = `http://127.0.0.1:${await freePort()}`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-edge-boot-'));
    const edge = newEdge({ adminUrl, admin: createCaddyAdmin({ adminUrl }), stateDir: dir });
    try {
      expect(await edge.bootstrap()).toMatchObject({ action: 'started', caddyVersion: '2.6.2', adminUrl });
      expect(JSON.parse(await readFile(path.join(dir, 'caddy', 'initial.json'), 'utf8'))).toEqual({
        admin: { listen: new URL(adminUrl).host },
      });
      expect(
        await newEdge({ adminUrl, admin: createCaddyAdmin({ adminUrl }), stateDir: dir }).bootstrap(),
      ).toMatchObject({
        action: 'adopted',
      });
    } finally {
      // The Caddy it started outlives the agent on purpose; the test stops it through its own admin API.
      await fetch(`${adminUrl}/stop`, { method: 'POST' }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says proxy_binary_missing without a binary and proxy_start_failed with its output when it dies', async () => {
    const adminUrl = `http://127.0.0.1:${await freePort()}`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-edge-fail-'));
    const options = { adminUrl, admin: createCaddyAdmin({ adminUrl }), stateDir: dir };
    await expect(newEdge({ ...options, caddyBinary: '/nonexistent/caddy' }).bootstrap()).rejects.toMatchObject({
      code: 'proxy_binary_missing',
    });
    const broken = path.join(dir, 'broken-caddy');
    await writeFile(broken, '#!/bin/sh\necho "Error: boom" >&2\nexit 1\n');
    await chmod(broken, 0o755);
    const failure = newEdge({ ...options, caddyBinary: broken }).bootstrap();
    await expect(failure).rejects.toMatchObject({ code: 'proxy_start_failed' });
    await expect(failure).rejects.toThrow(/boom/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('readServedRoutes', () => {
  it('counts routes Berth did not write, in any server', () => {
    const config = mergeEdgeObjects(
      { apps: { http: { servers: { x: { routes: [{}, { '@id': 'mine' }, { '@id': 'berth-route-res-a' }] } } } } },
      buildEdgeObjects(doc(1, [route({ routeId: 'a', hostname: 'a.test' })]), build),
    );
    const served = readServedRoutes(config, { resourceOf: () => null, resolve: () => null });
    expect(served.foreignRouteCount).toBe(2);
    expect(served.routes.map((r) => r.routeId)).toEqual(['a']);
  });
});
