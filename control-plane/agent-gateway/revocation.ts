import type { EntityManager } from '@mikro-orm/postgresql';
import { Server } from '../modules/servers/entity.js';
import { credentialProblem } from './identity.js';
import type { AgentSession } from './session.js';

/**
 * Re-checks the credentials of every open session against its server row, in one query: a server deactivated,
 * deleted or missing, or a certificate issued before `credentialsRevokedAt`, gets `Revoked` and its stream
 * ended (which marks the server `unreachable`). The gateway runs this every second, so a revocation reaches a
 * live stream within about a second; a reconnect is refused by the same rule at its Hello.
 *
 * Returns the sessions it revoked.
 */
export async function checkRevocations(em: EntityManager, sessions: Iterable<AgentSession>): Promise<AgentSession[]> {
  const open = [...sessions].filter((session) => session.isOpen);
  if (open.length === 0) return [];
  const ids = [...new Set(open.map((session) => session.serverId))];
  const rows = await em.find(
    Server,
    { id: { $in: ids } },
    { fields: ['lifecycleStatus', 'credentialsRevokedAt', 'certificateSerial'] },
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const revoked: AgentSession[] = [];
  for (const session of open) {
    const problem = credentialProblem(byId.get(session.serverId) ?? null, session.identity);
    if (problem === null) continue;
    session.revoke(problem);
    revoked.push(session);
  }
  return revoked;
}
