import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.js';
import type { UpstreamResolver } from '../edge/resolver.js';
import { reverseProxyHandler, upstreamName, upstreamRefreshMs } from '../edge/upstream.js';

/**
 * Where a resource's loopback traffic goes: `127.0.0.1:listenPort` is proxied to `upstream`. The upstream is the
 * container's address on Berth's network and its internal port; `127.0.0.1` with a published host port instead is
 * routed the old way (a static upstream, so every switch is a config change), for a container without that address.
 */
export interface TrafficRoute {
  resourceId: string;
  listenPort: number;
  upstream: { host: string; port: number };
}

/** Moves a resource's loopback port from one container to another without failing requests. */
export interface TrafficSwitch {
  readonly kind: 'caddy';
  /**
   * Routes 127.0.0.1:listenPort to upstream; creates the listener the first time. Switching is atomic for new
   * requests once it resolves; requests in flight finish on the old upstream. A route that is already in place is
   * left alone. Another listen port or internal port for the same resource replaces its listener.
   */
  route(route: TrafficRoute): Promise<void>;
  /** The route served for this resource now: listen port read back from Caddy, upstream from the resolver; or null. */
  current(resourceId: string): Promise<TrafficRoute | null>;
  /** All routes Berth put in Caddy (by @id prefix), e.g. for reconciliation after an agent restart. */
  list(): Promise<TrafficRoute[]>;
  /** Closes the resource's listener and drops its record; a resource without one is not an error. */
  remove(resourceId: string): Promise<void>;
}

/** Why Caddy could not be programmed: not answering at all, or answering with an error. */
export type TrafficSwitchErrorCode = 'proxy_unavailable' | 'proxy_rejected';

/** A failed call to Caddy's admin API; `proxy_rejected` carries Caddy's own error text in the message. */
export class TrafficSwitchError extends Error {
  override readonly name = 'TrafficSwitchError';
  constructor(
    readonly code: TrafficSwitchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the switch needs of the agent's resolver (agent/edge/resolver.ts). */
export type UpstreamRecords = Pick<UpstreamResolver, 'address' | 'set' | 'get' | 'flush'>;

/** Options of {@link createCaddyTrafficSwitch}. */
export interface CaddyTrafficSwitchOptions {
  /** Caddy's admin API on loopback, e.g. `http://127.0.0.1:2019`. */
  adminUrl: string;
  log: Logger;
  /** The resolver Caddy's dynamic upstreams ask; without one every route is static (a switch reloads Caddy). */
  resolver?: UpstreamRecords | null;
  /** How long a record change takes to reach every new request: Caddy's lookup refresh plus a margin (1.5 s). */
  settleMs?: number;
  fetch?: typeof fetch;
  /** Bound on each admin request (10 s): a config change makes Caddy reload every server it runs. */
  timeoutMs?: number;
}

/** The JSON Berth installs as `apps.http.servers["berth-<resourceId>"]`. */
export interface CaddyServerConfig {
  listen: string[];
  automatic_https: { disable: boolean };
  routes: Array<{ '@id': string; handle: Array<Record<string, unknown>> }>;
}

const resourceIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const serverPrefix = 'berth-';

/** The server name and the route's `@id` of a resource. */
function names(resourceId: string): { server: string; route: string } {
  if (!resourceIdPattern.test(resourceId)) throw new RangeError(`not a usable resource id: "${resourceId}"`);
  return { server: `${serverPrefix}${resourceId}`, route: `berth-route-${resourceId}` };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseHostPort(address: unknown): { host: string; port: number } | null {
  if (typeof address !== 'string') return null;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: (match[1] ?? match[2])!, port };
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`${what} is not a port: ${port}`);
}

/** Whether the route goes through the resolver: there is one, the id is a DNS label and the host is no loopback. */
function viaResolver(route: TrafficRoute, resolver: string | null): resolver is string {
  if (resolver === null || route.upstream.host === '127.0.0.1') return false;
  try {
    upstreamName(route.resourceId);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Caddy server for `route`: pure, so tests and docs can show exactly what Berth installs. With `resolver` (its
 * `127.0.0.1:port`) the upstream is the name `<resourceId>.berth.internal` on the route's port, and no static
 * fallback: a container address goes stale (Docker gives it to the next container), so a lookup that fails answers
 * 503 rather than reach whatever holds that address now. The resolver runs as its own process (resolver-daemon.ts).
 */
export function caddyServerConfig(route: TrafficRoute, resolver: string | null = null): CaddyServerConfig {
  const { route: routeId } = names(route.resourceId);
  const { upstream } = route;
  const handler = viaResolver(route, resolver)
    ? reverseProxyHandler({ resourceId: route.resourceId, port: upstream.port, resolver, fallback: null })
    : {
        handler: 'reverse_proxy',
        upstreams: [{ dial: hostPort(upstream.host, upstream.port) }],
        // A static upstream changes by a config change, which reloads all of Caddy's servers and closes idle
        // keep-alive connections; a client reusing one at that moment gets ECONNRESET. One request per connection
        // removes that race (101 upgrades are answered before this applies). Routes via the resolver never reload.
        headers: { response: { set: { Connection: ['close'] } } },
      };
  return {
    listen: [hostPort('127.0.0.1', route.listenPort)],
    // A plain loopback listener: no certificates to manage and no HTTP→HTTPS redirect to add.
    automatic_https: { disable: true },
    routes: [{ '@id': routeId, handle: [handler] }],
  };
}

/** The first handler of a server shaped the way Berth writes it, or null. */
function handlerOf(resourceId: string, server: unknown): Record<string, unknown> | null {
  const route = (server as Partial<CaddyServerConfig> | null)?.routes?.[0];
  const handler = route?.handle?.[0];
  if (route?.['@id'] !== names(resourceId).route || handler?.['handler'] !== 'reverse_proxy') return null;
  return handler;
}

/**
 * Reads a server back into a route; null when it is missing or not shaped the way Berth writes it. Through the
 * resolver, the upstream's host is the record (the static fallback when there is none).
 */
function parseServer(resourceId: string, server: unknown, records: UpstreamRecords | null): TrafficRoute | null {
  const handler = handlerOf(resourceId, server);
  const listen = parseHostPort((server as Partial<CaddyServerConfig> | null)?.listen?.[0]);
  if (handler === null || listen === null) return null;
  const fallback = parseHostPort((handler['upstreams'] as Array<{ dial?: unknown }> | undefined)?.[0]?.dial);
  const dynamic = handler['dynamic_upstreams'] as { source?: unknown; port?: unknown } | undefined;
  if (dynamic === undefined) return fallback && { resourceId, listenPort: listen.port, upstream: fallback };
  const port = Number(dynamic.port);
  const host = records?.get(resourceId) ?? fallback?.host ?? null;
  if (dynamic.source !== 'a' || host === null || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { resourceId, listenPort: listen.port, upstream: { host, port } };
}

/** A copy of a server without its static upstreams: two servers that differ only there need no config change. */
function withoutFallback(server: unknown): unknown {
  const copy = structuredClone(server) as CaddyServerConfig;
  const handler = copy?.routes?.[0]?.handle?.[0];
  if (handler?.['dynamic_upstreams'] !== undefined) delete handler['upstreams'];
  return copy;
}

/** A copy of a server {@link parseServer} accepted, with other upstreams. */
function withUpstreams(server: unknown, upstreams: unknown): unknown {
  const copy = structuredClone(server) as CaddyServerConfig;
  copy.routes[0]!.handle[0]!['upstreams'] = upstreams;
  return copy;
}

/** JSON with object keys sorted, so two configs compare equal whatever order Caddy returns keys in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

const sameUpstream = (a: TrafficRoute['upstream'], b: TrafficRoute['upstream']) =>
  a.host === b.host && a.port === b.port;

/**
 * A {@link TrafficSwitch} over Caddy's admin API and the agent's resolver, touching nothing in Caddy but the servers
 * named `berth-<resourceId>`. A server is written (a path-scoped PUT; Caddy creates missing `apps`/`http`/`servers`)
 * only when it is missing or its listen port, internal port or resolver differ. A switch to another container is a
 * change of the resource's record alone: no config change, so Caddy restarts no server and closes no connection of
 * any app; `route` then waits {@link CaddyTrafficSwitchOptions.settleMs} so that every new request goes to the new
 * container before the caller drains the old one. Static routes (no resolver, or a `127.0.0.1` upstream) PATCH only
 * `/id/berth-route-<id>/handle/0/upstreams`. Calls are serialized, so two changes never interleave their read and
 * write; the settling wait is outside that, so one resource's switch does not hold up another's.
 */
export function createCaddyTrafficSwitch(options: CaddyTrafficSwitchOptions): TrafficSwitch {
  const base = options.adminUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const settleMs = options.settleMs ?? upstreamRefreshMs + 500;
  const records = options.resolver ?? null;
  const log = options.log;
  let queue: Promise<unknown> = Promise.resolve();

  function serialized<T>(operation: () => Promise<T>): Promise<T> {
    const run = queue.then(operation, operation);
    queue = run.catch(() => undefined);
    return run;
  }

  async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
    let status: number;
    let text: string;
    try {
      const response = await doFetch(`${base}${path}`, {
        method,
        // Caddy 2.6 restarts its admin endpoint on every config change, closing idle connections: a pooled
        // connection reused at that moment would fail with ECONNRESET, so each call gets its own.
        headers: { connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new TrafficSwitchError('proxy_unavailable', `no Caddy admin API answers at ${base} (${reasonOf(error)})`, {
        cause: error,
      });
    }
    let parsed: unknown = null;
    try {
      parsed = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (status >= 400) {
      const detail = (parsed as { error?: unknown } | null)?.error ?? text.trim();
      throw new TrafficSwitchError(
        'proxy_rejected',
        `Caddy refused ${method} ${path} (HTTP ${status}): ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`,
      );
    }
    return parsed;
  }

  const serverPath = (server: string) => `/config/apps/http/servers/${server}`;

  /** Caddy's HTTP servers, read from the root: a GET below a missing `apps` or `http` is an error in Caddy 2.6. */
  async function readServers(): Promise<Record<string, unknown>> {
    const root = (await admin('GET', '/config/')) as { apps?: { http?: { servers?: Record<string, unknown> } } } | null;
    return root?.apps?.http?.servers ?? {};
  }

  /**
   * Sets (or drops) the record and waits until it is saved and answered: an agent restart must answer the same, and
   * a switch the resolver does not answer has not happened (the caller fails it, the old version keeps serving).
   */
  async function record(resourceId: string, ip: string | null): Promise<void> {
    if (records === null) return;
    records.set(resourceId, ip);
    try {
      await records.flush();
    } catch (error) {
      throw new TrafficSwitchError(
        'proxy_unavailable',
        `the edge resolver did not take the new upstream: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Puts the route in place; true when traffic moved through a record change that still has to settle. */
  async function apply(route: TrafficRoute): Promise<boolean> {
    const { server, route: routeId } = names(route.resourceId);
    const dynamic = viaResolver(route, records?.address ?? null);
    const desired = caddyServerConfig(route, records?.address ?? null);
    const existing = (await readServers())[server] ?? null;
    const before = existing === null ? null : parseServer(route.resourceId, existing, records);
    // The record first: a server written next resolves the name at its first request.
    if (dynamic) await record(route.resourceId, route.upstream.host);
    if (existing === null) {
      await admin('PUT', serverPath(server), desired);
      log.info({ ...route, viaResolver: dynamic }, 'traffic route created');
      return false;
    }
    const upstreams = (desired.routes[0]!.handle[0] as { upstreams?: unknown }).upstreams;
    if (canonical(withoutFallback(existing)) === canonical(withoutFallback(desired))) {
      // Same server, maybe another container: through the resolver that is the record set above, nothing in Caddy.
      if (before === null || sameUpstream(before.upstream, route.upstream)) return false;
      log.info({ resourceId: route.resourceId, from: before.upstream, to: route.upstream }, 'traffic switched');
      return dynamic;
    }
    if (!dynamic && before !== null && canonical(withUpstreams(existing, upstreams)) === canonical(desired)) {
      // Caddy reloads either way; patching only the upstreams leaves no room to change anything else by accident.
      await admin('PATCH', `/id/${routeId}/handle/0/upstreams`, upstreams);
      log.info({ resourceId: route.resourceId, from: before.upstream, to: route.upstream }, 'traffic switched');
      return false;
    }
    // Another listen port or internal port, static ↔ resolver, or a server an older Berth wrote: replace it.
    await admin('PATCH', serverPath(server), desired);
    if (!dynamic) await record(route.resourceId, null);
    log.info({ ...route, viaResolver: dynamic }, 'traffic route replaced');
    // The name's lookups are cached by name and port, across config changes: a record that moved still settles.
    return dynamic && before !== null && !sameUpstream(before.upstream, route.upstream);
  }

  return {
    kind: 'caddy',

    async route(route) {
      names(route.resourceId);
      checkPort(route.listenPort, 'listenPort');
      checkPort(route.upstream.port, 'upstream.port');
      const moved = await serialized(() => apply(route));
      if (moved) await sleep(settleMs);
    },

    async current(resourceId) {
      const { server } = names(resourceId);
      return parseServer(resourceId, (await readServers())[server] ?? null, records);
    },

    async list() {
      const routes: TrafficRoute[] = [];
      for (const [name, server] of Object.entries(await readServers())) {
        const resourceId = name.slice(serverPrefix.length);
        if (!name.startsWith(serverPrefix) || !resourceIdPattern.test(resourceId)) continue;
        const route = parseServer(resourceId, server, records);
        if (route) routes.push(route);
      }
      return routes;
    },

    remove(resourceId) {
      const { server } = names(resourceId);
      return serialized(async () => {
        // Looked up first: deleting a missing server is no change, and Caddy would reload for nothing.
        if ((await readServers())[server] !== undefined) {
          await admin('DELETE', serverPath(server));
          log.info({ resourceId }, 'traffic route removed');
        }
        if (records?.get(resourceId) != null) await record(resourceId, null);
      });
    },
  };
}

/** Options of {@link checkListenerMigration}. */
export interface ListenerMigrationOptions {
  log: Logger;
  /** Turn the setting on when it is off (needs root); otherwise only report. */
  enable: boolean;
  /** The sysctl's file, for tests. */
  file?: string;
}

/**
 * Says whether `net.ipv4.tcp_migrate_req` (Linux ≥ 5.14) is on, turning it on first when asked. Caddy 2.6 binds a
 * new SO_REUSEPORT socket on every config change and closes the old one; with the setting off the kernel resets
 * the connections still queued on the old socket, so a switch can fail a few brand-new connections. Logs one
 * warning when it stays off.
 */
export async function checkListenerMigration(options: ListenerMigrationOptions): Promise<boolean> {
  const file = options.file ?? '/proc/sys/net/ipv4/tcp_migrate_req';
  let reason = 'it is off';
  try {
    if ((await readFile(file, 'utf8')).trim() !== '0') return true;
    if (options.enable) {
      await writeFile(file, '1\n');
      options.log.info('turned on net.ipv4.tcp_migrate_req so Caddy reloads do not reset queued connections');
      return true;
    }
  } catch (error) {
    reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  options.log.warn(
    { reason },
    'net.ipv4.tcp_migrate_req is not on: a traffic switch may reset a few new connections ' +
      '(as root: sysctl -w net.ipv4.tcp_migrate_req=1)',
  );
  return false;
}
