import type { EntityManager } from '@mikro-orm/postgresql';
import { ServerDesiredState } from '../../control-plane/modules/runtime/entity.js';

/**
 * Puts `resourceId`'s runtime, running on container port 8080, in the server's desired state: what a deployment that
 * succeeded leaves behind, for tests of what follows from it (edge routes) without running one.
 */
export async function runOn(em: EntityManager, serverId: string, resourceId: string): Promise<void> {
  const state = await em.findOne(ServerDesiredState, serverId);
  const runtime = { resourceId, deploymentId: `dep-${resourceId}`, internalPort: 8080, state: 'running' } as never;
  if (state) {
    state.document = { runtimes: [...state.document.runtimes, runtime] };
  } else {
    em.create(ServerDesiredState, {
      server: serverId,
      version: 1,
      document: { runtimes: [runtime] },
      updatedAt: new Date(),
    });
  }
  await em.flush();
}
