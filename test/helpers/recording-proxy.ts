import type { ListenPortStore } from '../../agent/workloads/listen-ports.js';
import { type TrafficRoute, type TrafficSwitch, TrafficSwitchError } from '../../agent/workloads/traffic-switch.js';

/** A {@link TrafficSwitch} that keeps its routes in memory and records every change, for tests. */
export interface RecordingProxy extends TrafficSwitch {
  /** Every `route` and `remove` call, in order (failed ones included). */
  readonly calls: Array<{ op: 'route'; route: TrafficRoute } | { op: 'remove'; resourceId: string }>;
  /** Where the resource's listener sends traffic now, or undefined. */
  upstreamOf(resourceId: string): number | undefined;
  /** Makes every later `route` call throw `error` (a Caddy that is down); null makes it work again. */
  failWith(error: Error | null): void;
}

/** A proxy that answers like Caddy's admin API, from memory. */
export function createRecordingProxy(): RecordingProxy {
  const routes = new Map<string, TrafficRoute>();
  const calls: RecordingProxy['calls'] = [];
  let failure: Error | null = null;
  return {
    kind: 'caddy',
    calls,
    async route(route) {
      calls.push({ op: 'route', route: structuredClone(route) });
      if (failure) throw failure;
      routes.set(route.resourceId, structuredClone(route));
    },
    current: async (resourceId) => structuredClone(routes.get(resourceId) ?? null),
    list: async () => [...routes.values()].map((route) => structuredClone(route)),
    async remove(resourceId) {
      calls.push({ op: 'remove', resourceId });
      routes.delete(resourceId);
    },
    upstreamOf: (resourceId) => routes.get(resourceId)?.upstream.port,
    failWith(error) {
      failure = error;
    },
  };
}

/** What a Caddy that does not answer makes `route` throw. */
export function proxyUnavailable(): TrafficSwitchError {
  return new TrafficSwitchError('proxy_unavailable', 'Caddy admin API at http://127.0.0.1:2019 is unreachable');
}

/** A listen-port store in memory: the preferred port when given, else one stable port per resource from `first`. */
export function memoryListenPorts(first = 20000): ListenPortStore {
  const ports = new Map<string, number>();
  return {
    async portFor(resourceId, preferred) {
      if (preferred != null) return preferred;
      if (!ports.has(resourceId)) ports.set(resourceId, first + ports.size);
      return ports.get(resourceId)!;
    },
  };
}
