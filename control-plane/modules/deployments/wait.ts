import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../../shared/time.js';
import type { NotifyHub } from '../../db/notify-hub.js';
import { Deployment, terminalStatuses } from './entity.js';
import { deploymentEventsChannel } from './events.js';

/**
 * Waiting on a deployment, through the notification hub: every change of a deployment appends an event, and every
 * event is announced on the deployment events channel (by whichever replica wrote it).
 */
export function createDeploymentWaits(deps: { hub: Pick<NotifyHub, 'waitUntil' | 'notified'>; now: Clock }) {
  return {
    /** The deployment once it has ended, or as it is when `timeoutMs` has passed. */
    async untilTerminal(em: EntityManager, deploymentId: string, timeoutMs: number): Promise<Deployment> {
      const read = () => em.fork().findOneOrFail(Deployment, deploymentId);
      const ended = await deps.hub.waitUntil({
        channel: deploymentEventsChannel,
        key: deploymentId,
        deadline: new Date(deps.now().getTime() + timeoutMs),
        check: async () => {
          const deployment = await read();
          return terminalStatuses.includes(deployment.status) ? deployment : undefined;
        },
      });
      return ended ?? read();
    },

    /** Resolves once the deployment may have a new event, or after `ms` at the latest. */
    async changed(deploymentId: string, ms: number): Promise<void> {
      await deps.hub.notified(deploymentEventsChannel, deploymentId, ms);
    },
  };
}

/** Waiting on deployments. */
export type DeploymentWaits = ReturnType<typeof createDeploymentWaits>;
