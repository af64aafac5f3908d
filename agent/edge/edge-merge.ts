import { type EdgeObjects, edgeNames, type Json } from './edge-document.js';

/**
 * Puts Berth's edge objects into a copy of Caddy's whole config, replacing the ones Berth wrote before and leaving
 * everything else as it is: other servers, routes added by hand (even inside Berth's two servers, kept after Berth's
 * routes), other automation policies and certificate loaders. Pure; the caller compares and writes.
 */

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** JSON with object keys sorted, so two configs compare equal whatever order Caddy returns keys in. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Whether a route is one of Berth's edge routes (by `@id`). */
export function isBerthEdgeRoute(route: unknown): boolean {
  const id = isObject(route) ? route['@id'] : undefined;
  return typeof id === 'string' && id.startsWith(edgeNames.routePrefix);
}

const isBerthPolicy = (policy: unknown) =>
  isObject(policy) && typeof policy['@id'] === 'string' && policy['@id'].startsWith(edgeNames.policyPrefix);

const isBerthCertificate = (loader: unknown) =>
  isObject(loader) &&
  Array.isArray(loader['tags']) &&
  loader['tags'].some((t) => typeof t === 'string' && t.startsWith(edgeNames.certificateTagPrefix));

/** `parent[key]` as an object, created (empty) when missing. */
function child(parent: Json, key: string): Json {
  if (!isObject(parent[key])) parent[key] = {};
  return parent[key] as Json;
}

const isEmpty = (value: unknown) =>
  Array.isArray(value) ? value.length === 0 : isObject(value) && Object.keys(value).length === 0;

/** The containers Berth's objects live in, deepest first: pruned when the merge left them empty. */
const containerPaths = [
  ['apps', 'http', 'servers'],
  ['apps', 'http'],
  ['apps', 'tls', 'automation', 'policies'],
  ['apps', 'tls', 'automation'],
  ['apps', 'tls', 'certificates', 'load_pem'],
  ['apps', 'tls', 'certificates'],
  ['apps', 'tls'],
  ['apps'],
];

function at(root: unknown, path: string[]): unknown {
  let value = root;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

/**
 * Removes each container the merge left empty unless it was already empty before (someone's `"tls": {}` stays), so
 * removing all of Berth's objects gives back the config exactly as it was before Berth wrote any.
 */
function prune(root: Json, original: unknown): void {
  for (const path of containerPaths) {
    const parent = at(root, path.slice(0, -1));
    const key = path[path.length - 1]!;
    if (!isObject(parent) || !isEmpty(parent[key])) continue;
    const before = at(original, path);
    if (before === undefined || !isEmpty(before)) delete parent[key];
  }
}

/**
 * A route's reverse proxy with its static fallback upstreams dropped: a fallback only names the container current
 * when the config was written, and a new container alone must not cause a config change (that is the resolver's job).
 */
function withoutFallback(route: unknown): string {
  const copy = structuredClone(route) as { handle?: Json[] };
  for (const handler of copy.handle ?? []) if (handler['dynamic_upstreams'] !== undefined) delete handler['upstreams'];
  return canonical(copy);
}

/** `wanted`, except that a route differing from the one Caddy has only in its fallback keeps Caddy's. */
function keepFallbacks(wanted: Json[], existing: unknown[]): Json[] {
  const byId = new Map(existing.filter(isObject).map((r) => [r['@id'], r]));
  return wanted.map((route) => {
    const old = byId.get(route['@id']);
    return old !== undefined && withoutFallback(old) === withoutFallback(route) ? old : route;
  });
}

/** Caddy's `config` with Berth's edge objects replaced by `objects` (an empty `objects` removes them). */
export function mergeEdgeObjects(config: Json | null, objects: EdgeObjects): Json {
  const root: Json = structuredClone(config ?? {});
  const apps = child(root, 'apps');
  const servers = child(child(apps, 'http'), 'servers');
  for (const name of [edgeNames.httpServer, edgeNames.httpsServer]) {
    const existing = isObject(servers[name]) ? (servers[name] as Json) : null;
    const existingRoutes = Array.isArray(existing?.['routes']) ? (existing['routes'] as unknown[]) : [];
    const foreign = existingRoutes.filter((r) => !isBerthEdgeRoute(r));
    const wanted = objects.servers[name];
    if (wanted) {
      const routes = keepFallbacks(wanted['routes'] as Json[], existingRoutes);
      servers[name] = { ...wanted, routes: [...routes, ...foreign] };
    } else if (existing && foreign.length > 0) {
      // Someone added routes to Berth's server by hand: keep the server for them.
      servers[name] = { ...existing, routes: foreign };
    } else {
      delete servers[name];
    }
  }

  const tls = child(apps, 'tls');
  const automation = child(tls, 'automation');
  const policies = (Array.isArray(automation['policies']) ? automation['policies'] : []).filter(
    (p) => !isBerthPolicy(p),
  );
  // Berth's policies first: Caddy takes the first policy whose subjects match, and a foreign catch-all (no
  // subjects) must not shadow them.
  automation['policies'] = [...objects.policies, ...policies];
  const certificates = child(tls, 'certificates');
  const loaders = (Array.isArray(certificates['load_pem']) ? certificates['load_pem'] : []).filter(
    (c) => !isBerthCertificate(c),
  );
  certificates['load_pem'] = [...loaders, ...objects.certificates];
  prune(root, config);
  return root;
}
