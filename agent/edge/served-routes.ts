import type { ServedRoute } from '../../shared/edge-command.js';
import { edgeNames, httpRedirectSuffix, type Json } from './edge-document.js';
import { isBerthEdgeRoute } from './edge-merge.js';
import { upstreamZone } from './upstream.js';

/** What {@link readServedRoutes} finds in Caddy's config. */
export interface ServedRoutes {
  routes: ServedRoute[];
  /** Top-level routes of any server whose `@id` does not start with `berth-` (neither edge nor traffic switch). */
  foreignRouteCount: number;
}

/** Options of {@link readServedRoutes}. */
export interface ReadServedRoutesOptions {
  /** The resource a document route belongs to, from the applied document (a redirect in Caddy does not say). */
  resourceOf: (routeId: string) => string | null;
  /** What the agent's resolver answers for a resource now. */
  resolve: (resourceId: string) => string | null;
  /** Only routes of these resources; all of Berth's when absent. */
  resourceIds?: string[];
}

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function firstString(value: unknown): string | null {
  const first = list(value)[0];
  return typeof first === 'string' ? first : null;
}

/** The one route Berth wrote, read back; null for a route not shaped as Berth writes them. */
function readRoute(route: Json, scheme: 'http' | 'https', options: ReadServedRoutesOptions): ServedRoute | null {
  const id = route['@id'] as string;
  const routeId = id.slice(edgeNames.routePrefix.length).replace(httpRedirectSuffix, '');
  const match = isObject(list(route['match'])[0]) ? (list(route['match'])[0] as Json) : {};
  const hostname = firstString(match['host']);
  const path = firstString(match['path']);
  const handler = isObject(list(route['handle'])[0]) ? (list(route['handle'])[0] as Json) : null;
  if (hostname === null || handler === null) return null;
  const base = {
    routeId,
    hostname,
    pathPrefix: path === null ? '/' : path.replace(/\*$/, ''),
    scheme,
    redirectTo: null,
    redirectStatus: null,
    resourceId: options.resourceOf(routeId),
    upstreamName: null,
    upstreamPort: null,
    resolvedUpstream: null,
  };
  if (handler['handler'] === 'static_response') {
    const headers = isObject(handler['headers']) ? handler['headers'] : {};
    return {
      ...base,
      behavior: 'redirect',
      redirectTo: firstString(headers['Location']),
      redirectStatus: Number(handler['status_code']) || null,
    };
  }
  const dynamic = isObject(handler['dynamic_upstreams']) ? handler['dynamic_upstreams'] : {};
  const name = typeof dynamic['name'] === 'string' ? dynamic['name'] : null;
  const port = Number(dynamic['port']);
  const suffix = `.${upstreamZone}`;
  const resourceId = name?.endsWith(suffix) ? name.slice(0, -suffix.length) : base.resourceId;
  return {
    ...base,
    behavior: 'serve',
    resourceId,
    upstreamName: name,
    upstreamPort: Number.isInteger(port) && port >= 1 && port <= 65535 ? port : null,
    resolvedUpstream: resourceId === null ? null : options.resolve(resourceId),
  };
}

/** Berth's edge routes as Caddy holds them (both servers, in Caddy's order) and the count of foreign routes. */
export function readServedRoutes(config: Json | null, options: ReadServedRoutesOptions): ServedRoutes {
  const apps = isObject(config?.['apps']) ? (config['apps'] as Json) : {};
  const http = isObject(apps['http']) ? apps['http'] : {};
  const servers = isObject(http['servers']) ? http['servers'] : {};
  const wanted = options.resourceIds ? new Set(options.resourceIds) : null;
  const routes: ServedRoute[] = [];
  let foreignRouteCount = 0;
  for (const [name, server] of Object.entries(servers)) {
    const scheme = name === edgeNames.httpsServer ? 'https' : 'http';
    const ownServer = name === edgeNames.httpServer || name === edgeNames.httpsServer;
    for (const route of list(isObject(server) ? server['routes'] : undefined)) {
      const id = isObject(route) ? route['@id'] : undefined;
      if (typeof id !== 'string' || !id.startsWith('berth-')) foreignRouteCount += 1;
      if (!ownServer || !isBerthEdgeRoute(route)) continue;
      const served = readRoute(route as Json, scheme, options);
      if (served && (wanted === null || (served.resourceId !== null && wanted.has(served.resourceId)))) {
        routes.push(served);
      }
    }
  }
  return { routes, foreignRouteCount };
}
