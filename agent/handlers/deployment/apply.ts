import type { DeploymentApplyPayload, DeploymentApplyResult } from '../../../shared/deployment-command.js';
import { ContainerError, type ContainerInfo } from '../../workloads/containers.js';
import type { CommandOutcome } from '../index.js';
import type { DeploymentDeps } from './deps.js';
import { announceStart, prepareImage } from './prepare-image.js';
import { retirePrevious } from './retire-previous.js';
import { type DeploymentRun, deploymentReport } from './run.js';
import { startContainer } from './start-container.js';
import { switchTraffic } from './switch-traffic.js';
import { verifyContainer } from './verify.js';

/**
 * Runs one deployment: image, container, health verification, traffic switch, then the older containers of the
 * resource are drained and removed. Every step is idempotent (the container is found by its deployment label), so
 * a command resent after an agent crash resumes where the crash left it instead of starting a second container.
 * A failure removes only the new container: the running version keeps serving. A `deployment.cancel` aborts it
 * through `deps.running`.
 */
export async function applyDeployment(
  payload: DeploymentApplyPayload,
  deps: DeploymentDeps,
): Promise<CommandOutcome<DeploymentApplyResult>> {
  const { spec } = payload;
  const deploymentId = spec.deploymentId;
  const controller = new AbortController();
  deps.running.get(deploymentId)?.abort();
  deps.running.set(deploymentId, controller);
  const run: DeploymentRun = {
    payload,
    spec,
    deps,
    signal: controller.signal,
    report: deploymentReport(deploymentId, deps.emit),
  };
  let created: ContainerInfo | null = null;
  try {
    await announceStart(run);
    await prepareImage(run);
    created = await startContainer(run);
    const failure = await verifyContainer(run, created);
    if (failure !== null) return failure;
    const running = (await deps.containers.inspect(created.id)) ?? created;
    const traffic = await switchTraffic(run, running);
    const replacedDeploymentIds = await retirePrevious(run);
    return {
      succeeded: true,
      result: { containerId: running.id, containerName: running.name, ...traffic, replacedDeploymentIds },
    };
  } catch (error) {
    if (controller.signal.aborted) {
      if (created) await deps.containers.remove(created.id).catch(() => undefined);
      return { succeeded: false, errorCode: 'canceled', errorMessage: 'Canceled; the new container was removed.' };
    }
    if (error instanceof ContainerError) {
      if (created) await deps.containers.remove(created.id).catch(() => undefined);
      run.report.log('start', error.message, 'error');
      return { succeeded: false, errorCode: error.code, errorMessage: error.message };
    }
    throw error;
  } finally {
    if (deps.running.get(deploymentId) === controller) deps.running.delete(deploymentId);
  }
}
