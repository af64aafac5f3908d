import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from '../../shared/logger.js';

/** Where a resource's loopback traffic goes: `127.0.0.1:listenPort` is proxied to `upstream`. */
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
   * requests; requests in flight finish on the old upstream. A route that is already in place is left alone (no
   * reload). Another listen port for the same resource replaces its listener.
   */
  route(route: TrafficRoute): Promise<void>;
  /** The route Caddy is serving for this resource now (read back from Caddy, not from memory), or null. */
  current(resourceId: string): Promise<TrafficRoute | null>;
  /** All routes Berth put in Caddy (by @id prefix), e.g. for reconciliation after an agent restart. */
  list(): Promise<TrafficRoute[]>;
  /** Closes the resource's listener; a resource without one is not an error. */
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

/** Options of {@link createCaddyTrafficSwitch}. */
export interface CaddyTrafficSwitchOptions {
  /** Caddy's admin API on loopback, e.g. `http://127.0.0.1:2019`. */
  adminUrl: string;
  log: Logger;
  fetch?: typeof fetch;
  /** Bound on each admin request (10 s): a config change makes Caddy reload every server it runs. */
  timeoutMs?: number;
}

/** The JSON Berth installs as `apps.http.servers["berth-<resourceId>"]`. */
export interface CaddyServerConfig {
  listen: string[];
  automatic_https: { disable: boolean };
  routes: Array<{
    '@id': string;
    handle: Array<{
      handler: 'reverse_proxy';
      upstreams: Array<{ dial: string }>;
      headers: { response: { set: Record<string, string[]> } };
    }>;
  }>;
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

/** The Caddy server for `route`: pure, so tests and docs can show exactly what Berth installs. */
export function caddyServerConfig(route: TrafficRoute): CaddyServerConfig {
  const { route: routeId } = names(route.resourceId);
  return {
    listen: [hostPort('127.0.0.1', route.listenPort)],
    // A plain loopback listener: no certificates to manage and no HTTP→HTTPS redirect to add.
    automatic_https: { disable: true },
    routes: [
      {
        '@id': routeId,
        handle: [
          {
            handler: 'reverse_proxy',
            upstreams: [{ dial: hostPort(route.upstream.host, route.upstream.port) }],
            // Every change to Caddy's config reloads all its servers, and a reload closes idle keep-alive
            // connections; a client that reuses one at that moment gets ECONNRESET. One request per connection
            // costs little on loopback and removes that race (101 upgrades are answered before this applies).
            headers: { response: { set: { Connection: ['close'] } } },
          },
        ],
      },
    ],
  };
}

/** Reads a server back into a route; null when it is missing or not shaped the way Berth writes it. */
function parseServer(resourceId: string, server: unknown): TrafficRoute | null {
  const s = server as Partial<CaddyServerConfig> | null;
  const route = s?.routes?.[0];
  const handler = route?.handle?.[0];
  if (route?.['@id'] !== names(resourceId).route || handler?.handler !== 'reverse_proxy') return null;
  const listen = parseHostPort(s?.listen?.[0]);
  const upstream = parseHostPort(handler.upstreams?.[0]?.dial);
  if (!listen || !upstream) return null;
  return { resourceId, listenPort: listen.port, upstream };
}

/** A copy of a server {@link parseServer} accepted, with other upstreams. */
function withUpstreams(server: unknown, upstreams: Array<{ dial: string }>): unknown {
  const copy = structuredClone(server) as CaddyServerConfig;
  copy.routes[0]!.handle[0]!.upstreams = upstreams;
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

/**
 * A {@link TrafficSwitch} that programs Caddy through its admin API only, touching nothing but the servers named
 * `berth-<resourceId>`: each is created with a path-scoped PUT (Caddy creates missing `apps`/`http`/`servers`), a
 * switch PATCHes only `/id/berth-route-<id>/handle/0/upstreams`, and removal DELETEs that one server. Calls are
 * serialized, so two switches of one resource never interleave their read and write.
 */
export function createCaddyTrafficSwitch(options: CaddyTrafficSwitchOptions): TrafficSwitch {
  const base = options.adminUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
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

  return {
    kind: 'caddy',

    route(route) {
      const { server, route: routeId } = names(route.resourceId);
      checkPort(route.listenPort, 'listenPort');
      checkPort(route.upstream.port, 'upstream.port');
      const desired = caddyServerConfig(route);
      return serialized(async () => {
        const existing = (await readServers())[server] ?? null;
        if (existing === null) {
          await admin('PUT', serverPath(server), desired);
          log.info({ ...route }, 'traffic route created');
          return;
        }
        if (canonical(existing) === canonical(desired)) return; // already in place: no reload
        const live = parseServer(route.resourceId, existing);
        const upstreams = desired.routes[0]!.handle[0]!.upstreams;
        if (live === null || canonical(withUpstreams(existing, upstreams)) !== canonical(desired)) {
          // Another listen port, or a server an older Berth wrote: replace the whole server.
          await admin('PATCH', serverPath(server), desired);
          log.info({ ...route }, 'traffic route replaced');
          return;
        }
        // Caddy reloads either way; patching only the upstreams leaves no room to change anything else by accident.
        await admin('PATCH', `/id/${routeId}/handle/0/upstreams`, upstreams);
        log.info({ resourceId: route.resourceId, from: live.upstream, to: route.upstream }, 'traffic switched');
      });
    },

    async current(resourceId) {
      const { server } = names(resourceId);
      return parseServer(resourceId, (await readServers())[server] ?? null);
    },

    async list() {
      const routes: TrafficRoute[] = [];
      for (const [name, server] of Object.entries(await readServers())) {
        const resourceId = name.slice(serverPrefix.length);
        if (!name.startsWith(serverPrefix) || !resourceIdPattern.test(resourceId)) continue;
        const route = parseServer(resourceId, server);
        if (route) routes.push(route);
      }
      return routes;
    },

    remove(resourceId) {
      const { server } = names(resourceId);
      return serialized(async () => {
        // Looked up first: deleting a missing server is no change, and Caddy would reload for nothing.
        if ((await readServers())[server] === undefined) return;
        await admin('DELETE', serverPath(server));
        log.info({ resourceId }, 'traffic route removed');
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
