import type { EntityManager } from '@mikro-orm/postgresql';
import { Membership } from '../identity/entity.js';
import type { EnrollmentService } from './enrollment.js';
import { Server } from './entity.js';
import type { ServerService } from './service.js';

/** What `berth dev` needs to enroll its local agent. */
export interface LocalAgentEnrollment {
  serverId: string;
  token: string;
  caSha256: string;
}

/** The name of the server `berth dev` registers for its own machine. */
export const localServerName = 'local';

/**
 * Registers this machine as the server "local" in the first organization (once the first admin exists) and issues
 * an enrollment token for it, on behalf of that organization's owner. Answers null while no organization exists.
 */
export function createLocalServerRegistration(deps: {
  servers: Pick<ServerService, 'create'>;
  enrollment: Pick<EnrollmentService, 'issue'>;
}) {
  const { servers, enrollment } = deps;
  return {
    async provision(em: EntityManager): Promise<LocalAgentEnrollment | null> {
      const [owner] = await em.find(Membership, { role: 'owner' }, { orderBy: { joinedAt: 'asc' }, limit: 1 });
      if (owner === undefined) return null;
      const caller = {
        kind: 'user' as const,
        userId: owner.user.id,
        sessionId: 'berth-dev',
        organizationId: owner.organization.id,
        role: owner.role,
      };
      const existing = await em.findOne(Server, { organization: caller.organizationId, nameKey: localServerName });
      const serverId =
        existing?.id ??
        (await servers.create(em, caller, { name: localServerName, host: '127.0.0.1', providerKey: 'local-shell' })).id;
      const issued = await enrollment.issue(em, caller, serverId, 'agent-enrollment');
      return { serverId, token: issued.enrollment.token, caSha256: issued.enrollment.caSha256 };
    },
  };
}
