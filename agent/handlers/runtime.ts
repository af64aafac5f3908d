import type { Logger } from '../../shared/logger.js';
import type {
  DesiredStateDocument,
  RuntimeControlPayload,
  RuntimeControlResult,
  RuntimeInspectPayload,
  RuntimeInspectResult,
  RuntimeTarget,
} from '../../shared/runtime-command.js';
import { runtimeDriftEvent } from '../../shared/runtime-command.js';
import { ContainerError, type ContainerInfo } from '../workloads/containers.js';
import { runHttpCheck, runTcpCheck } from '../workloads/health-checks.js';
import { verifyHealth } from '../workloads/verify.js';
import type { DeploymentDeps } from './deployment.js';

type Outcome<T> = { succeeded: true; result: T } | { succeeded: false; errorCode: string; errorMessage: string };

/**
 * Points the resource's loopback listener at the container's current host port (ports change at every start),
 * once the container passes its health check: a container that is starting is not sent traffic.
 */
async function reroute(target: RuntimeTarget, container: ContainerInfo, deps: DeploymentDeps): Promise<string | null> {
  const verdict = await verifyHealth({
    runtime: deps.runtime,
    container,
    health: target.health,
    internalPort: target.internalPort,
  });
  if (!verdict.healthy)
    throw new ContainerError('container_start_failed', `the container did not become healthy: ${verdict.reason}`);
  const port = target.internalPort === null ? undefined : container.hostPorts[target.internalPort];
  if (port === undefined) return null;
  if (deps.traffic === null) return `http://127.0.0.1:${port}`;
  const listenPort = await deps.listenPorts.portFor(target.resourceId, target.preferredListenPort);
  try {
    await deps.traffic.route({ resourceId: target.resourceId, listenPort, upstream: { host: '127.0.0.1', port } });
    return `http://127.0.0.1:${listenPort}`;
  } catch (error) {
    deps.log.warn(
      { err: error, resourceId: target.resourceId },
      'could not program the proxy; serving on the container port',
    );
    return `http://127.0.0.1:${port}`;
  }
}

/** Stops, starts or restarts the resource's current container; a start moves the listener to its new port. */
export async function controlRuntime(
  payload: RuntimeControlPayload,
  deps: DeploymentDeps,
): Promise<Outcome<RuntimeControlResult>> {
  const container = await deps.runtime.findDeploymentContainer(payload.deploymentId);
  if (container === null) {
    return {
      succeeded: false,
      errorCode: 'container_not_found',
      errorMessage: `no container of deployment ${payload.deploymentId} on this server: redeploy the resource`,
    };
  }
  if (payload.operation === 'stop' || payload.operation === 'restart')
    await deps.runtime.stop(container.id, payload.stopGraceSeconds);
  if (payload.operation === 'stop')
    return { succeeded: true, result: { runtimeState: 'stopped', containerName: container.name, accessUrl: null } };
  try {
    const started = await deps.runtime.start(container.id);
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
): Promise<Outcome<RuntimeInspectResult>> {
  const container = await deps.runtime.findDeploymentContainer(payload.deploymentId);
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
    const result =
      payload.health.type === 'http' && payload.health.http
        ? await runHttpCheck(payload.health.http, target)
        : await runTcpCheck(target);
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

/**
 * Converges Docker to the desired state: a runtime that should run but was stopped (by hand, or beyond its restart
 * policy) is started again and its listener moved; one that should be stopped is stopped; a missing container is
 * reported (a redeploy recreates it); older Berth containers of those resources are removed. Resources with a
 * deployment under way here, or with a container newer than the document knows, are left alone. Each difference found is reported as a `runtime.drift` event.
 */
export async function reconcile(document: DesiredStateDocument, deps: DeploymentDeps, log: Logger): Promise<void> {
  const busy = new Set<string>();
  for (const deploymentId of deps.running.keys()) busy.add(deploymentId);
  for (const runtime of document.runtimes) {
    const containers = await deps.runtime.listResourceContainers(runtime.resourceId);
    if (containers.some((c) => busy.has(c.deploymentId))) continue;
    const drift = (kind: string, message: string, action: string) =>
      deps.emit(runtimeDriftEvent, {
        resourceId: runtime.resourceId,
        deploymentId: runtime.deploymentId,
        drift: kind,
        action,
        message,
      });
    const current = containers.find((c) => c.deploymentId === runtime.deploymentId);
    // A container newer than the desired one means a deployment finished after this document was made: the next
    // document will name it, and acting on this one would undo it.
    const newer = containers.filter((c) => c !== current && (current === undefined || c.createdAt > current.createdAt));
    if (newer.length > 0) continue;
    try {
      if (current === undefined) {
        if (runtime.state === 'running')
          drift('missing', 'The container was removed outside Berth; redeploy to recreate it.', 'reported');
      } else if (runtime.state === 'running' && !current.running) {
        const started = await deps.runtime.start(current.id);
        await reroute(runtime, started, deps);
        drift(
          'stopped',
          `Container ${current.name} was stopped (exit code ${current.exitCode ?? 'unknown'}) outside Berth; started it again.`,
          'restarted',
        );
      } else if (runtime.state === 'stopped' && current.running) {
        await deps.runtime.stop(current.id, 10);
        drift(
          'running',
          `Container ${current.name} was running although the resource is stopped; stopped it.`,
          'stopped',
        );
      }
      for (const leftover of containers.filter((c) => c !== current)) {
        await deps.runtime.remove(leftover.id);
        drift('leftover', `Removed container ${leftover.name} of an older deployment.`, 'removed');
      }
    } catch (error) {
      log.warn({ err: error, resourceId: runtime.resourceId }, 'could not reconcile a runtime');
    }
  }
}
