import type { DeploymentCancelPayload, DeploymentCancelResult } from '../../../shared/deployment-command.js';
import type { CommandOutcome } from '../index.js';
import type { DeploymentDeps } from './deps.js';

/**
 * Stops a deployment that is still running here. One that is not running (its agent was gone when the control plane
 * gave up on it) may have left its container: that is removed, unless the desired state names it as a runtime.
 */
export async function cancelDeployment(
  payload: DeploymentCancelPayload,
  deps: Pick<DeploymentDeps, 'running' | 'containers' | 'isDesired'>,
): Promise<CommandOutcome<DeploymentCancelResult>> {
  const controller = deps.running.get(payload.deploymentId);
  controller?.abort();
  let removedContainer = false;
  if (controller === undefined && !deps.isDesired(payload.deploymentId)) {
    const leftover = await deps.containers.findDeploymentContainer(payload.deploymentId);
    if (leftover !== null) {
      await deps.containers.remove(leftover.id);
      removedContainer = true;
    }
  }
  return {
    succeeded: true,
    result: { deploymentId: payload.deploymentId, wasRunning: controller !== undefined, removedContainer },
  };
}
