import type { DeploymentRun } from './run.js';

/**
 * Once traffic moved: waits `drainSeconds` so requests in flight on the older containers of the resource finish,
 * then stops (with `stopGraceSeconds`) and removes them. Answers the deployments they belonged to.
 */
export async function retirePrevious({ deps, spec, payload, report }: DeploymentRun): Promise<string[]> {
  const older = (await deps.containers.listResourceContainers(spec.resourceId)).filter(
    (c) => c.deploymentId !== spec.deploymentId,
  );
  if (older.length === 0) return [];
  if (payload.drainSeconds > 0) await new Promise((r) => setTimeout(r, payload.drainSeconds * 1000));
  for (const old of older) {
    await deps.containers.stop(old.id, payload.stopGraceSeconds);
    await deps.containers.remove(old.id);
  }
  report.progress('previous-stopped', 'cleanup', `Stopped and removed ${older.map((c) => c.name).join(', ')}.`);
  return older.map((c) => c.deploymentId);
}
