import type { EntityManager } from '@mikro-orm/postgresql';
import { Server } from '../modules/servers/entity.js';
import { credentialProblem } from './identity.js';
import type { AgentSession } from './session.js';

/**
 * Re-checks every open session against its server row, in one query (the gateway runs it every second, so a
 * change reaches a live stream within about a second):
 *
 * - a server deactivated, deleted or missing, or a certificate issued before `credentialsRevokedAt`: the
 *   session gets `Revoked` and its stream ends (which marks the server `unreachable`); a reconnect is refused
 *   by the same rule at its Hello;
 * - a row whose `connectedSince` is newer than the session's: the agent connected again through another
 *   replica, so this older stream is ended as replaced (within one process `claim` does that at once).
 *
 * Returns the sessions it ended.
 */
export async function checkRevocations(em: EntityManager, sessions: Iterable<AgentSession>): Promise<AgentSession[]> {
  const open = [...sessions].filter((session) => session.isOpen);
  if (open.length === 0) return [];
  const ids = [...new Set(open.map((session) => session.serverId))];
  const rows = await em.find(
    Server,
    { id: { $in: ids } },
    { fields: ['lifecycleStatus', 'credentialsRevokedAt', 'certificateSerial', 'connectedSince'] },
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const ended: AgentSession[] = [];
  for (const session of open) {
    const row = byId.get(session.serverId) ?? null;
    const problem = credentialProblem(row, session.identity);
    if (problem !== null) {
      session.revoke(problem);
      ended.push(session);
    } else if ((row?.connectedSince?.getTime() ?? 0) > (session.connectedSince?.getTime() ?? 0)) {
      session.end('conflict', 'replaced by a newer connection from the same server');
      ended.push(session);
    }
  }
  return ended;
}
