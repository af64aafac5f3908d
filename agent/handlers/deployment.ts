import type {
  DeploymentApplyPayload,
  DeploymentApplyResult,
  DeploymentCancelPayload,
} from '../../shared/deployment-command.js';
import { deploymentLogEvent, deploymentProgressEvent } from '../../shared/deployment-command.js';
import type { Logger } from '../../shared/logger.js';
import { ContainerError, type ContainerInfo, type Containers } from '../workloads/containers.js';
import type { TrafficSwitch } from '../workloads/traffic-switch.js';
import { verifyHealth } from '../workloads/verify.js';

/** What the deployment handlers use. */
export interface DeploymentDeps {
  runtime: Containers;
  /** Caddy in front of the resource's loopback port; null when the agent has no proxy to program. */
  traffic: TrafficSwitch | null;
  listenPorts: { portFor(resourceId: string, preferred?: number | null): Promise<number> };
  /** Sends an event on the link, or spools it while the link is down. */
  emit(kind: string, attributes: Record<string, string>): void;
  log: Logger;
  /** Deployments running in this process, so a cancel can reach them. */
  running: Map<string, AbortController>;
  /** Readies the engine for Berth's containers (its network); called before each deployment. */
  prepare(): Promise<void>;
  /** Whether the desired state names this deployment as a resource's runtime (its container then stays). */
  isDesired(deploymentId: string): boolean;
}

type Outcome =
  | { succeeded: true; result: DeploymentApplyResult }
  | { succeeded: false; errorCode: string; errorMessage: string };

// A chatty container must not fill the spool: beyond this, its output is summarised in one line.
const maxLogLinesPerDeployment = 500;

/**
 * Runs one deployment: image, container, health verification, traffic switch, then the older containers of the
 * resource are drained and removed. Every step is idempotent (the container is found by its deployment label), so
 * a command resent after an agent crash resumes where the crash left it instead of starting a second container.
 * A failure removes only the new container: the running version keeps serving.
 */
export async function applyDeployment(payload: DeploymentApplyPayload, deps: DeploymentDeps): Promise<Outcome> {
  const { spec } = payload;
  const { runtime } = deps;
  const deploymentId = spec.deploymentId;
  const controller = new AbortController();
  deps.running.get(deploymentId)?.abort();
  deps.running.set(deploymentId, controller);
  let logLines = 0;
  const progress = (eventType: string, phase: string, summary: string, extra: Record<string, string> = {}) =>
    deps.emit(deploymentProgressEvent, { deploymentId, eventType, phase, status: 'running', summary, ...extra });
  const logLine = (phase: string, message: string, level = 'info', source = 'berth', at = new Date().toISOString()) => {
    logLines += 1;
    if (logLines > maxLogLinesPerDeployment) {
      if (logLines === maxLogLinesPerDeployment + 1) {
        deps.emit(deploymentLogEvent, {
          deploymentId,
          phase,
          level: 'warn',
          source: 'berth',
          message: `more than ${maxLogLinesPerDeployment} lines: the rest is in the container's own log`,
          at,
        });
      }
      return;
    }
    deps.emit(deploymentLogEvent, { deploymentId, phase, level, source, message, at });
  };
  let created: ContainerInfo | null = null;
  try {
    await deps.prepare();
    const existing = await runtime.findDeploymentContainer(deploymentId);
    progress(
      existing ? 'deployment-resumed' : 'deployment-started',
      'start',
      existing ? `Resuming: container ${existing.name} already exists.` : `Deploying ${spec.image}.`,
    );

    const image = await runtime.ensureImage(spec.image, (line) => logLine('image', line), controller.signal);
    progress('image-ready', 'image', image.pulled ? `Pulled ${spec.image}.` : `Using the local image ${spec.image}.`);

    created = await runtime.createAndStart(spec);
    progress('container-started', 'start', `Started container ${created.name}.`, { containerName: created.name });
    logLine('start', `container ${created.name} started from ${spec.image}`);

    const verdict = await verifyHealth({
      runtime,
      container: created,
      health: spec.health,
      internalPort: spec.internalPort,
      signal: controller.signal,
      onAttempt: (a) =>
        progress(a.ok ? 'health-check-passed' : 'health-check-attempt', 'verify', `Check ${a.attempt}: ${a.detail}`),
      onLog: (l) => logLine('verify', l.line, l.stream === 'stderr' ? 'warn' : 'info', 'application', l.at),
    });
    if (!verdict.healthy) {
      await runtime.remove(created.id).catch(() => undefined);
      const previous = (await runtime.listResourceContainers(spec.resourceId)).some(
        (c) => c.running && c.deploymentId !== deploymentId,
      );
      const keep = previous ? ' The previous version keeps serving.' : '';
      logLine('verify', verdict.reason, 'error');
      return {
        succeeded: false,
        errorCode: verdict.code,
        errorMessage: `${verdict.code === 'canceled' ? 'Canceled during verification' : verdict.reason}; the new container was removed.${keep}`,
      };
    }
    progress(
      'verification-succeeded',
      'verify',
      `Healthy after ${verdict.attempts} check(s) in ${verdict.durationMs} ms.`,
    );

    const running = (await runtime.inspect(created.id)) ?? created;
    const appPort = spec.internalPort === null ? null : (running.hostPorts[spec.internalPort] ?? null);
    let accessUrl: string | null = null;
    let listenPort: number | null = null;
    let trafficSwitch: DeploymentApplyResult['trafficSwitch'] = 'none';
    if (appPort !== null && deps.traffic !== null) {
      listenPort = await deps.listenPorts.portFor(spec.resourceId, payload.preferredListenPort);
      try {
        await deps.traffic.route({
          resourceId: spec.resourceId,
          listenPort,
          upstream: { host: '127.0.0.1', port: appPort },
        });
        trafficSwitch = 'caddy';
        accessUrl = `http://127.0.0.1:${listenPort}`;
        progress('traffic-switched', 'switch', `Traffic on ${accessUrl} now goes to ${running.name}.`);
      } catch (error) {
        // No proxy: the deployment still serves, on its own port, without a zero-downtime switch.
        listenPort = null;
        deps.log.warn({ err: error, deploymentId }, 'could not program the proxy; serving on the container port');
        progress(
          'traffic-switch-unavailable',
          'switch',
          `The proxy could not be programmed (${(error as Error).message}); the app answers on its own port.`,
        );
      }
    }
    if (appPort !== null && trafficSwitch === 'none') {
      trafficSwitch = 'direct';
      accessUrl = `http://127.0.0.1:${appPort}`;
    }

    const older = (await runtime.listResourceContainers(spec.resourceId)).filter(
      (c) => c.deploymentId !== deploymentId,
    );
    if (older.length > 0 && payload.drainSeconds > 0)
      await new Promise((r) => setTimeout(r, payload.drainSeconds * 1000));
    for (const old of older) {
      await runtime.stop(old.id, payload.stopGraceSeconds);
      await runtime.remove(old.id);
    }
    if (older.length > 0)
      progress('previous-stopped', 'cleanup', `Stopped and removed ${older.map((c) => c.name).join(', ')}.`);
    return {
      succeeded: true,
      result: {
        containerId: running.id,
        containerName: running.name,
        accessUrl,
        listenPort,
        trafficSwitch,
        replacedDeploymentIds: older.map((c) => c.deploymentId),
      },
    };
  } catch (error) {
    if (controller.signal.aborted) {
      if (created) await runtime.remove(created.id).catch(() => undefined);
      return { succeeded: false, errorCode: 'canceled', errorMessage: 'Canceled; the new container was removed.' };
    }
    if (error instanceof ContainerError) {
      if (created) await runtime.remove(created.id).catch(() => undefined);
      logLine('start', error.message, 'error');
      return { succeeded: false, errorCode: error.code, errorMessage: error.message };
    }
    throw error;
  } finally {
    if (deps.running.get(deploymentId) === controller) deps.running.delete(deploymentId);
  }
}

/**
 * Stops a deployment that is still running here. One that is not running (its agent was gone when the control plane
 * gave up on it) may have left its container: that is removed, unless the desired state names it as a runtime.
 */
export async function cancelDeployment(
  payload: DeploymentCancelPayload,
  deps: Pick<DeploymentDeps, 'running' | 'runtime' | 'isDesired'>,
) {
  const controller = deps.running.get(payload.deploymentId);
  controller?.abort();
  let removedContainer = false;
  if (controller === undefined && !deps.isDesired(payload.deploymentId)) {
    const leftover = await deps.runtime.findDeploymentContainer(payload.deploymentId);
    if (leftover !== null) {
      await deps.runtime.remove(leftover.id);
      removedContainer = true;
    }
  }
  return {
    succeeded: true as const,
    result: { deploymentId: payload.deploymentId, wasRunning: controller !== undefined, removedContainer },
  };
}
