import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { type CaddyEdge, createCaddyEdge } from '../../agent/edge/caddy-edge.js';
import { startUpstreamResolver, type UpstreamResolver } from '../../agent/edge/resolver.js';
import type { EdgeRoute, EdgeSyncResult } from '../../shared/edge-command.js';
import { freePort } from '../../shared/free-port.js';
import type { Logger } from '../../shared/logger.js';
import { type PrivateCaddy, startCaddy } from '../../test/helpers/caddy.js';
import { type PrivatePebble, startPebble } from '../../test/helpers/pebble.js';
import type { UndoSteps } from './harness.js';

/** What the upstream answers to every request. */
export const upstreamBody = 'hello from the upstream\n';
/** The resource every route of the rig points at (the resolver's one record). */
export const edgeResourceId = 'res-bench';

/** The edge bench's processes: Caddy driven by the agent's own edge code, Pebble, the upstream and the resolver. */
export interface EdgeRig {
  caddy: PrivateCaddy;
  pebble: PrivatePebble;
  upstream: { port: number; child: ChildProcess };
  resolver: UpstreamResolver;
  edge: CaddyEdge;
  httpPort: number;
  httpsPort: number;
  /** Adds a route to the upstream for `hostname` to the edge document (a new version); `sync()` sends it. */
  addRoute(routeId: string, hostname: string, tls: EdgeRoute['tls']): void;
  /** `edge.sync` of the document as it stands. */
  sync(): Promise<EdgeSyncResult>;
}

/**
 * The upstream in its own process, so the load generator and the server it measures do not share an event loop.
 * Its keep-alive timeout outlasts Caddy's idle upstream connections (2 min), so no pooled connection is closed under
 * a request.
 */
async function startUpstream(undo: UndoSteps): Promise<{ port: number; child: ChildProcess }> {
  const script = `
    const http = require('node:http');
    const body = Buffer.from(process.env.BODY);
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    });
    server.keepAliveTimeout = 300000;
    server.headersTimeout = 301000;
    server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
    process.on('SIGTERM', () => process.exit(0));`;
  const port = await freePort();
  const child = spawn(process.execPath, ['--input-type=commonjs', '-e', script], {
    env: { PATH: process.env['PATH'], BODY: upstreamBody, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  undo.push({ what: 'upstream', run: () => stopChild(child) });
  const printed = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the upstream exited (${code}) before it listened`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8').trim()));
  });
  return { port: Number(printed), child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** `caddy version`'s first word, or 'unknown'. */
export function caddyVersion(): Promise<string> {
  return new Promise<string>((resolve) => {
    const child = spawn('caddy', ['version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('close', () => resolve(out.trim().split(' ')[0] ?? ''));
    child.on('error', () => resolve('unknown'));
  });
}

/**
 * Starts a private Caddy, Pebble and the upstream, the agent's loopback resolver (its record for
 * {@link edgeResourceId} naming the upstream's address) and the agent's Caddy edge with Pebble as its ACME CA, in a
 * temp folder. Each registers its undo step in `undo` as soon as it is up.
 */
export async function startEdgeRig(undo: UndoSteps, log: Logger): Promise<EdgeRig> {
  const dir = await mkdtemp('/tmp/berth-bench-edge-');
  undo.push({ what: 'temp folder', run: () => rm(dir, { recursive: true, force: true }) });
  const [caddy, pebble, upstream] = await Promise.all([
    startCaddy().then((started) => {
      undo.push({ what: 'Caddy', run: () => started.stop() });
      return started;
    }),
    startPebble().then((started) => {
      undo.push({ what: 'Pebble', run: () => started.stop() });
      return started;
    }),
    startUpstream(undo),
  ]);
  const resolver = await startUpstreamResolver({
    host: '127.0.0.1',
    port: 0,
    file: path.join(dir, 'resolver.json'),
    log,
  });
  undo.push({ what: 'resolver', run: () => resolver.close() });
  resolver.set(edgeResourceId, '127.0.0.1');
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const edge = createCaddyEdge({
    adminUrl: caddy.adminUrl,
    stateDir: path.join(dir, 'agent'),
    httpPort,
    httpsPort,
    acme: { directoryUrl: pebble.directoryUrl, email: 'ops@example.test', caRootsFile: pebble.caRootsFile },
    upstreams: resolver,
    log,
  });
  undo.push({ what: 'edge', run: () => edge.stop() });

  const routes: EdgeRoute[] = [];
  let version = 0;
  return {
    caddy,
    pebble,
    upstream,
    resolver,
    edge,
    httpPort,
    httpsPort,
    addRoute(routeId, hostname, tls) {
      // As for a container: the resolver's record names the host (here the upstream's loopback address) and the
      // route's target port is the port the app listens on there.
      routes.push({
        routeId,
        hostname,
        pathPrefix: '/',
        resourceId: edgeResourceId,
        targetPort: upstream.port,
        tls,
        redirect: null,
      });
      version += 1;
    },
    sync: () => edge.sync({ version, proxyKind: 'caddy', routes: [...routes], certificates: [] }),
  };
}
