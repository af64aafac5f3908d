import type { ContainerInfo } from '../../workloads/containers.js';
import type { DeploymentRun } from './run.js';

/** Creates and starts the deployment's container, or starts the one a previous attempt left (never a second). */
export async function startContainer({ deps, spec, report }: DeploymentRun): Promise<ContainerInfo> {
  const created = await deps.containers.createAndStart(spec);
  report.progress('container-started', 'start', `Started container ${created.name}.`, { containerName: created.name });
  report.log('start', `container ${created.name} started from ${spec.image}`);
  return created;
}
