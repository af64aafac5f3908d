import type { EdgeRoute, EdgeSyncPayload } from '../../shared/edge-command.js';
import { reverseProxyHandler } from './upstream.js';

/**
 * The Caddy objects Berth owns for a server's edge document, built from the document alone (pure, so tests and
 * docs show exactly what Berth writes). Every list is sorted, so the same document always gives the same JSON and a
 * sync that changes nothing writes nothing.
 */

/** The names and id prefixes that mark Berth's edge objects in Caddy's config; anything else is left alone. */
export const edgeNames = {
  httpServer: 'berth-edge-http',
  httpsServer: 'berth-edge-https',
  /** `@id` of a document route on the server that serves it; plus {@link httpRedirectSuffix} for its HTTP→HTTPS twin. */
  routePrefix: 'berth-edge-',
  policyPrefix: 'berth-tls-',
  /** Tag of an imported certificate's `load_pem` entry. */
  certificateTagPrefix: 'berth-cert-',
} as const;

/** Route ids are `[a-z0-9-]`, so a `.` can never make two routes' ids collide. */
export const httpRedirectSuffix = '.http';

/** Where Caddy's ACME issuer gets certificates for `tls: acme` routes. */
export interface AcmeSettings {
  directoryUrl: string;
  /** Empty: an account without contact. */
  email: string;
  /** PEM file of the roots that sign the directory's own HTTPS; empty for the system's. */
  caRootsFile: string;
}

/** Options of {@link buildEdgeObjects}. */
export interface EdgeBuildOptions {
  httpPort: number;
  httpsPort: number;
  acme: AcmeSettings;
  /** The agent's upstream resolver, `127.0.0.1:N` (UDP). */
  resolver: string;
  /** The static upstream Caddy uses when the resolver does not answer; null for none. */
  fallback: (route: EdgeRoute) => { host: string; port: number } | null;
}

/** A Caddy JSON object. */
export type Json = Record<string, unknown>;

/** What {@link buildEdgeObjects} returns: the objects, by where they live in Caddy's config. */
export interface EdgeObjects {
  /** `apps.http.servers[name]`; a server with no route is left out. */
  servers: Record<string, Json>;
  /** `apps.tls.automation.policies`, sorted by `@id`. */
  policies: Json[];
  /** `apps.tls.certificates.load_pem`, sorted by tag. */
  certificates: Json[];
}

const byKey =
  <T>(key: (item: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * First match wins in Caddy: exact hosts before wildcards, and within a host the longest path prefix first, so
 * `/api` is tried before `/`. Ties are broken by route id.
 */
function routeOrder(route: EdgeRoute): string {
  const wildcard = route.hostname.startsWith('*') ? '1' : '0';
  return `${wildcard}\u0000${route.hostname}\u0000${String(1000 - route.pathPrefix.length).padStart(4, '0')}\u0000${route.pathPrefix}\u0000${route.routeId}`;
}

function matcher(route: EdgeRoute): Json[] {
  const match: Json = { host: [route.hostname] };
  if (route.pathPrefix !== '/') match['path'] = [`${route.pathPrefix}*`];
  return [match];
}

/** `:port` unless it is the scheme's default. */
function portSuffix(scheme: 'http' | 'https', port: number): string {
  return (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443) ? '' : `:${port}`;
}

function redirectHandler(location: string, status: number): Json {
  return { handler: 'static_response', status_code: status, headers: { Location: [location] } };
}

/** Builds the objects for `document`; `proxyKind: 'none'` builds nothing, which a sync turns into a removal. */
export function buildEdgeObjects(document: EdgeSyncPayload, options: EdgeBuildOptions): EdgeObjects {
  if (document.proxyKind === 'none') return { servers: {}, policies: [], certificates: [] };
  const routes = [...document.routes].sort(byKey(routeOrder));
  const tlsHosts = new Set(routes.filter((r) => r.tls !== 'none').map((r) => r.hostname));
  const httpRoutes: Json[] = [];
  const httpsRoutes: Json[] = [];
  const upgrade = `https://{http.request.host}${portSuffix('https', options.httpsPort)}{http.request.uri}`;

  for (const route of routes) {
    const id = `${edgeNames.routePrefix}${route.routeId}`;
    const scheme = route.tls === 'none' ? 'http' : 'https';
    let handler: Json;
    if (route.redirect) {
      // To the canonical host over HTTPS when Berth serves that host with TLS, else over the route's own scheme.
      const target = tlsHosts.has(route.redirect.to) ? 'https' : scheme;
      const port = portSuffix(target, target === 'https' ? options.httpsPort : options.httpPort);
      handler = redirectHandler(`${target}://${route.redirect.to}${port}{http.request.uri}`, route.redirect.status);
    } else {
      handler = reverseProxyHandler({
        resourceId: route.resourceId,
        port: route.targetPort,
        resolver: options.resolver,
        fallback: options.fallback(route),
      });
    }
    const served = { '@id': id, match: matcher(route), handle: [handler], terminal: true };
    if (scheme === 'http') {
      httpRoutes.push(served);
      continue;
    }
    httpsRoutes.push(served);
    // Caddy's automatic redirects are off (they cannot be told apart from Berth's); this is Berth's own. ACME
    // http-01 requests still reach Caddy's challenge handler, which runs before any route (server.go ServeHTTP).
    httpRoutes.push({
      '@id': `${id}${httpRedirectSuffix}`,
      match: matcher(route),
      handle: [redirectHandler(upgrade, 308)],
      terminal: true,
    });
  }

  const servers: Record<string, Json> = {};
  if (httpRoutes.length > 0) {
    servers[edgeNames.httpServer] = {
      listen: [`:${options.httpPort}`],
      routes: httpRoutes,
      // Plain HTTP whatever the http app's `http_port` says: on another port Caddy would otherwise turn TLS on here.
      automatic_https: { disable: true },
    };
  }
  const imported = [...new Set(routes.filter((r) => r.tls === 'imported').map((r) => r.hostname))].sort();
  if (httpsRoutes.length > 0) {
    servers[edgeNames.httpsServer] = {
      listen: [`:${options.httpsPort}`],
      routes: httpsRoutes,
      // Always TLS, even on a port other than the http app's `https_port`.
      tls_connection_policies: [{}],
      automatic_https: {
        disable_redirects: true,
        // An imported host is served by its loaded certificate only; never ask an ACME CA for it behind Berth's back.
        ...(imported.length > 0 ? { skip_certificates: imported } : {}),
      },
    };
  }
  return {
    servers,
    policies: acmePolicies(routes, options),
    certificates: [...document.certificates].sort(byKey((c) => c.certificateId)).map((c) => ({
      certificate: c.chainPem,
      key: c.keyPem,
      tags: [`${edgeNames.certificateTagPrefix}${c.certificateId}`],
    })),
  };
}

/** One policy per ACME host (Caddy refuses a subject in two policies), named after its first route. */
function acmePolicies(routes: EdgeRoute[], options: EdgeBuildOptions): Json[] {
  const { acme } = options;
  const firstRoute = new Map<string, string>();
  for (const route of [...routes].sort(byKey((r) => r.routeId))) {
    if (route.tls === 'acme' && !firstRoute.has(route.hostname)) firstRoute.set(route.hostname, route.routeId);
  }
  const challenges: Json = {};
  // Only off the standard ports: the CA always connects to 80/443, so this matters for a test CA (or a port map).
  if (options.httpPort !== 80) challenges['http'] = { alternate_port: options.httpPort };
  if (options.httpsPort !== 443) challenges['tls-alpn'] = { alternate_port: options.httpsPort };
  const issuer: Json = {
    module: 'acme',
    ca: acme.directoryUrl,
    ...(acme.email ? { email: acme.email } : {}),
    ...(acme.caRootsFile ? { trusted_roots_pem_files: [acme.caRootsFile] } : {}),
    ...(Object.keys(challenges).length > 0 ? { challenges } : {}),
  };
  return [...firstRoute.entries()]
    .map(([hostname, routeId]) => ({
      '@id': `${edgeNames.policyPrefix}${routeId}`,
      subjects: [hostname],
      issuers: [issuer],
    }))
    .sort(byKey((p) => p['@id']));
}
