import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../../shared/time.js';
import { requireConfirm } from '../../guards.js';
import type { Caller } from '../identity/auth-context.js';
import { conflict } from './admission.js';
import { Deployment, terminalStatuses } from './entity.js';

/** What {@link archiveDeployment} needs from the service: the clock and the scoped loader. */
export interface ArchiveOptions {
  now: Clock;
  load: (em: EntityManager, auth: Caller, deploymentId: string) => Promise<Deployment>;
}

/**
 * `POST /deployments/{id}/archive`: hides a deployment that ended from the list and count (`includeArchived=true`
 * shows it again). Its logs, events and snapshot stay, and it can still be read, retried or rolled back to. Archiving
 * an archived deployment answers its first `archivedAt`; a deployment under way is refused.
 */
export async function archiveDeployment(
  em: EntityManager,
  auth: Caller,
  input: { deploymentId: string; confirm: string },
  { now, load }: ArchiveOptions,
): Promise<{ id: string; archivedAt: string }> {
  const { deploymentId, confirm } = input;
  requireConfirm(deploymentId, confirm, 'deployment being archived');
  await load(em, auth, deploymentId);
  return em.transactional(async (tx) => {
    const d = await tx.findOneOrFail(Deployment, deploymentId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!terminalStatuses.includes(d.status)) {
      throw conflict(
        `Deployment "${deploymentId}" is ${d.status}: only a deployment that ended can be archived.`,
        `Wait for it to end (GET /deployments/${deploymentId}/events/stream) or cancel it with POST /deployments/${deploymentId}/cancel, then archive it.`,
        { status: d.status },
      );
    }
    if (d.archivedAt === null || d.archivedAt === undefined) {
      const at = now();
      d.archivedAt = at;
      d.updatedAt = at;
      await tx.flush();
    }
    return { id: d.id, archivedAt: d.archivedAt.toISOString() };
  });
}
