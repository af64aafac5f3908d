import type { DeploymentApplyResult } from '../../../shared/deployment-command.js';
import type { ContainerInfo } from '../../workloads/containers.js';
import type { ListenPortStore } from '../../workloads/listen-ports.js';
import type { TrafficRoute, TrafficSwitch } from '../../workloads/traffic-switch.js';
import type { DeploymentRun } from './run.js';

/** Where the resource answers once traffic moved. */
export type TrafficOutcome = Pick<DeploymentApplyResult, 'accessUrl' | 'listenPort' | 'trafficSwitch'>;

/**
 * Where the proxy reaches the container: its address on Berth's network and the internal port (the switch is then
 * a change of the resolver's record), else its published port on 127.0.0.1 (a container not on that network).
 */
export function upstreamOf(container: ContainerInfo, internalPort: number): TrafficRoute['upstream'] | null {
  if (container.networkIp !== null) return { host: container.networkIp, port: internalPort };
  const hostPort = container.hostPorts[internalPort];
  return hostPort === undefined ? null : { host: '127.0.0.1', port: hostPort };
}

/**
 * Points the resource's loopback listener (its stable listen port) at `upstream` through the proxy. Either the
 * listen port, or the error the proxy answered: the app then serves on its own port, without a zero-downtime switch.
 */
export async function routeResource(
  traffic: TrafficSwitch,
  listenPorts: ListenPortStore,
  target: { resourceId: string; preferredListenPort: number | null },
  upstream: TrafficRoute['upstream'],
): Promise<{ routed: true; listenPort: number } | { routed: false; error: unknown }> {
  const { resourceId } = target;
  const listenPort = await listenPorts.portFor(resourceId, target.preferredListenPort);
  try {
    await traffic.route({ resourceId, listenPort, upstream });
    return { routed: true, listenPort };
  } catch (error) {
    return { routed: false, error };
  }
}

/**
 * Moves the resource's traffic to the verified container: through the proxy when there is one (`caddy`), else on
 * the container's own published port (`direct`); `none` for an app without an internal port.
 */
export async function switchTraffic(run: DeploymentRun, container: ContainerInfo): Promise<TrafficOutcome> {
  const { deps, spec, report } = run;
  const appPort = spec.internalPort === null ? null : (container.hostPorts[spec.internalPort] ?? null);
  if (appPort === null) return { accessUrl: null, listenPort: null, trafficSwitch: 'none' };
  const upstream = upstreamOf(container, spec.internalPort!);
  if (deps.traffic !== null && upstream !== null) {
    const target = { resourceId: spec.resourceId, preferredListenPort: run.payload.preferredListenPort };
    const route = await routeResource(deps.traffic, deps.listenPorts, target, upstream);
    if (route.routed) {
      const accessUrl = `http://127.0.0.1:${route.listenPort}`;
      report.progress('traffic-switched', 'switch', `Traffic on ${accessUrl} now goes to ${container.name}.`);
      return { accessUrl, listenPort: route.listenPort, trafficSwitch: 'caddy' };
    }
    deps.log.warn(
      { err: route.error, deploymentId: spec.deploymentId },
      'could not program the proxy; serving on the container port',
    );
    report.progress(
      'traffic-switch-unavailable',
      'switch',
      `The proxy could not be programmed (${(route.error as Error).message}); the app answers on its own port.`,
    );
  }
  return { accessUrl: `http://127.0.0.1:${appPort}`, listenPort: null, trafficSwitch: 'direct' };
}
