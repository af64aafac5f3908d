import type { EntityManager } from '@mikro-orm/postgresql';
import { Deployment, terminalStatuses } from '../deployments/entity.js';

/** What a prune on one server must keep, whatever its rules say. */
export interface Protected {
  protectedDeploymentIds: string[];
  protectedImages: string[];
}

/**
 * Per resource that ran on `serverId`: every deployment still in progress, the newest that succeeded (the current
 * runtime) and the one before it (the rollback candidate), with their images. The agent also keeps what its desired
 * state runs, so a deployment the control plane has not recorded as succeeded yet is safe too.
 */
export async function protectedOn(em: EntityManager, serverId: string): Promise<Protected> {
  const deployments = await em.find(
    Deployment,
    { server: serverId },
    { orderBy: { createdAt: 'desc', id: 'desc' }, fields: ['id', 'resource', 'status', 'createdAt', 'snapshot'] },
  );
  const succeededPerResource = new Map<string, number>();
  const keep: Array<(typeof deployments)[number]> = [];
  for (const d of deployments) {
    if (!terminalStatuses.includes(d.status)) {
      keep.push(d);
      continue;
    }
    if (d.status !== 'succeeded') continue;
    const seen = succeededPerResource.get(d.resource.id) ?? 0;
    if (seen < 2) keep.push(d);
    succeededPerResource.set(d.resource.id, seen + 1);
  }
  return {
    protectedDeploymentIds: keep.map((d) => d.id),
    protectedImages: [...new Set(keep.map((d) => d.snapshot.spec.image))],
  };
}
