import type { RuntimeTarget } from '../../shared/runtime-command.js';
import { ContainerError, type ContainerInfo } from '../workloads/containers.js';
import { verifyHealth } from '../workloads/verify.js';
import type { DeploymentDeps } from './deployment/deps.js';
import { routeResource, upstreamOf } from './deployment/switch-traffic.js';

/**
 * Points the resource's loopback listener at the container as it runs now (its address and host ports change at
 * every start),
 * once the container passes its health check: a container that is starting is not sent traffic. Answers where the
 * resource answers now: its listener, or the container's own port without a proxy.
 */
export async function reroute(
  target: RuntimeTarget,
  container: ContainerInfo,
  deps: DeploymentDeps,
): Promise<string | null> {
  const verdict = await verifyHealth({
    containers: deps.containers,
    container,
    health: target.health,
    internalPort: target.internalPort,
    probe: deps.probe,
  });
  if (!verdict.healthy)
    throw new ContainerError('container_start_failed', `the container did not become healthy: ${verdict.reason}`);
  const port = target.internalPort === null ? undefined : container.hostPorts[target.internalPort];
  if (port === undefined) return null;
  const upstream = upstreamOf(container, target.internalPort!);
  if (deps.traffic === null || upstream === null) return `http://127.0.0.1:${port}`;
  const route = await routeResource(deps.traffic, deps.listenPorts, target, upstream);
  if (route.routed) return `http://127.0.0.1:${route.listenPort}`;
  deps.log.warn(
    { err: route.error, resourceId: target.resourceId },
    'could not program the proxy; serving on the container port',
  );
  return `http://127.0.0.1:${port}`;
}
