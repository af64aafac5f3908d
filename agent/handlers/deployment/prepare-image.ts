import type { DeploymentRun } from './run.js';

/**
 * Readies the engine (Berth's network) and says how the deployment begins: a container already labelled with this
 * deployment means a resent command after an agent crash, which resumes instead of starting over.
 */
export async function announceStart({ deps, spec, report }: DeploymentRun): Promise<void> {
  await deps.prepare();
  const existing = await deps.containers.findDeploymentContainer(spec.deploymentId);
  if (existing) report.progress('deployment-resumed', 'start', `Resuming: container ${existing.name} already exists.`);
  else report.progress('deployment-started', 'start', `Deploying ${spec.image}.`);
}

/** Makes the image available: a local one is used as is, otherwise it is pulled with its progress in the log. */
export async function prepareImage({ deps, spec, report, signal }: DeploymentRun): Promise<void> {
  const image = await deps.containers.ensureImage(spec.image, (line) => report.log('image', line), signal);
  await deps.recordImage?.(spec.image);
  report.progress(
    'image-ready',
    'image',
    image.pulled ? `Pulled ${spec.image}.` : `Using the local image ${spec.image}.`,
  );
}
