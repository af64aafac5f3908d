import { eventKind } from '../../shared/command-catalogue.js';
import type { Logger } from '../../shared/logger.js';
import type { DesiredStateDocument } from '../../shared/runtime-command.js';
import type { DeploymentDeps } from './deployment/deps.js';
import { reroute } from './reroute.js';

/**
 * Converges Docker to the desired state: a runtime that should run but was stopped (by hand, or beyond its restart
 * policy) is started again and its listener moved; one that should be stopped is stopped; a missing container is
 * reported (a redeploy recreates it); older Berth containers of those resources are removed. Resources with a
 * deployment under way here, or with a container newer than the document knows, are left alone. Each difference
 * found is reported as a `runtime.drift` event.
 */
export async function reconcile(document: DesiredStateDocument, deps: DeploymentDeps, log: Logger): Promise<void> {
  const busy = new Set<string>();
  for (const deploymentId of deps.running.keys()) busy.add(deploymentId);
  for (const runtime of document.runtimes) {
    const containers = await deps.containers.listResourceContainers(runtime.resourceId);
    if (containers.some((c) => busy.has(c.deploymentId))) continue;
    const drift = (kind: string, message: string, action: string) =>
      deps.emit(eventKind.runtimeDrift, {
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
        const started = await deps.containers.start(current.id);
        await reroute(runtime, started, deps);
        drift(
          'stopped',
          `Container ${current.name} was stopped (exit code ${current.exitCode ?? 'unknown'}) outside Berth; started it again.`,
          'restarted',
        );
      } else if (runtime.state === 'stopped' && current.running) {
        await deps.containers.stop(current.id, 10);
        drift(
          'running',
          `Container ${current.name} was running although the resource is stopped; stopped it.`,
          'stopped',
        );
      }
      for (const leftover of containers.filter((c) => c !== current)) {
        await deps.containers.remove(leftover.id);
        drift('leftover', `Removed container ${leftover.name} of an older deployment.`, 'removed');
      }
    } catch (error) {
      log.warn({ err: error, resourceId: runtime.resourceId }, 'could not reconcile a runtime');
    }
  }
}
