/**
 * How Caddy finds a resource's current container: every Berth route proxies to the name `<resourceId>.berth.internal`,
 * which Caddy looks up (dynamic A upstream) against the agent's loopback resolver. A deployment's traffic switch is a
 * change of that one record, with no change to Caddy's config, so Caddy reloads nothing and the connections of other
 * apps are not touched (a config change in Caddy 2.6 restarts every server and closes hijacked connections).
 */

/** The zone the agent's resolver answers for. */
export const upstreamZone = 'berth.internal';

/** The name Caddy resolves to reach the current container of `resourceId`. */
export function upstreamName(resourceId: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(resourceId)) throw new RangeError(`not a usable resource id: "${resourceId}"`);
  return `${resourceId}.${upstreamZone}`;
}

/** How often Caddy looks a name up again while requests keep coming; a switch waits this long (plus a margin). */
export const upstreamRefreshMs = 1000;

/** How long Caddy waits for a container to accept a connection; a local bridge answers in well under a millisecond. */
export const upstreamDialTimeout = '1s';

/** The JSON of a `reverse_proxy` handler that reaches `resourceId` on `port` through the resolver at `resolver`. */
export interface ReverseProxyOptions {
  resourceId: string;
  /** The port the app listens on inside its container. */
  port: number;
  /** The agent's resolver, e.g. `127.0.0.1:5335` (UDP). */
  resolver: string;
  /**
   * Where Caddy goes when the resolver does not answer (the agent restarting): the container current when the
   * config was last written. Caddy only uses it when the lookup fails.
   */
  fallback: { host: string; port: number } | null;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The `reverse_proxy` handler Berth writes for a resource, wherever it is served (loopback listener or host route). */
export function reverseProxyHandler(options: ReverseProxyOptions): Record<string, unknown> {
  return {
    handler: 'reverse_proxy',
    dynamic_upstreams: {
      source: 'a',
      name: upstreamName(options.resourceId),
      port: String(options.port),
      refresh: `${upstreamRefreshMs}ms`,
      resolver: { addresses: [`udp/${options.resolver}`] },
    },
    // A stopped container's address does not refuse, it goes silent: without a short dial timeout (Caddy's default is
    // 3 s) a request to a stopped app would hang instead of answering 502 at once.
    transport: { protocol: 'http', dial_timeout: upstreamDialTimeout },
    ...(options.fallback ? { upstreams: [{ dial: hostPort(options.fallback.host, options.fallback.port) }] } : {}),
  };
}
