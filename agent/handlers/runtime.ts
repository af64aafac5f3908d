import type {
  RuntimeControlPayload,
  RuntimeControlResult,
  RuntimeInspectPayload,
  RuntimeInspectResult,
} from '../../shared/runtime-command.js';
import { ContainerError } from '../workloads/containers.js';
import { runHealthCheck } from '../workloads/health-checks.js';
import type { DeploymentDeps } from './deployment/deps.js';
import type { CommandOutcome } from './index.js';
import { reroute } from './reroute.js';

export { reconcile } from './reconcile.js';

/** Stops, starts or restarts the resource's current container; a start moves the listener to its new port. */
export async function controlRuntime(
  payload: RuntimeControlPayload,
  deps: DeploymentDeps,
): Promise<CommandOutcome<RuntimeControlResult>> {
  const container = await deps.containers.findDeploymentContainer(payload.deploymentId);
  if (container === null) {
    return {
      succeeded: false,
      errorCode: 'container_not_found',
      errorMessage: `no container of deployment ${payload.deploymentId} on this server: redeploy the resource`,
    };
  }
  if (payload.operation === 'stop' || payload.operation === 'restart')
    await deps.containers.stop(container.id, payload.stopGraceSeconds);
  if (payload.operation === 'stop')
    return { succeeded: true, result: { runtimeState: 'stopped', containerName: container.name, accessUrl: null } };
  try {
    const started = await deps.containers.start(container.id);
    const accessUrl = await reroute(payload, started, deps);
    return { succeeded: true, result: { runtimeState: 'running', containerName: started.name, accessUrl } };
  } catch (error) {
    if (error instanceof ContainerError)
      return { succeeded: false, errorCode: error.code, errorMessage: error.message };
    throw error;
  }
}

/** The container's state and one probe of the resource's health check, as of now. */
export async function inspectRuntime(
  payload: RuntimeInspectPayload,
  deps: DeploymentDeps,
): Promise<CommandOutcome<RuntimeInspectResult>> {
  const container = await deps.containers.findDeploymentContainer(payload.deploymentId);
  const current = deps.traffic === null ? null : await deps.traffic.current(payload.resourceId).catch(() => null);
  let probe: RuntimeInspectResult['probe'] = null;
  const port =
    container?.running && payload.internalPort !== null
      ? container.hostPorts[payload.health.http?.port ?? payload.health.tcp?.port ?? payload.internalPort]
      : undefined;
  if (container?.running && port !== undefined && payload.health.enabled) {
    const started = Date.now();
    const target = {
      containerPort: payload.internalPort ?? 0,
      hostPort: port,
      timeoutMs: payload.health.timeoutSeconds * 1000,
      signal: AbortSignal.timeout(payload.health.timeoutSeconds * 1000 + 500),
    };
    // An HTTP policy without its settings is probed over TCP.
    const health =
      payload.health.type === 'http' && payload.health.http
        ? payload.health
        : { ...payload.health, type: 'tcp' as const };
    const result = await (deps.probe ?? runHealthCheck)(health, target);
    probe = { ok: result.ok, detail: result.detail, durationMs: Date.now() - started };
  }
  return {
    succeeded: true,
    result: {
      observedAt: new Date().toISOString(),
      container: container && {
        name: container.name,
        state: container.state,
        running: container.running,
        exitCode: container.exitCode,
        startedAt: container.startedAt,
        restartCount: container.restartCount,
      },
      route: current ? { listenPort: current.listenPort, upstreamPort: current.upstream.port } : null,
      probe,
    },
  };
}
