import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../../shared/logger.js';
import type { AgentSession } from './session.js';

/** What {@link sweepLiveness} needs. */
export interface LivenessSweepOptions {
  em: EntityManager;
  now: Date;
  log: Logger;
  unreachableAfterMs: number;
  /** Every stream this process holds, open or still waiting for its Hello. */
  sessions: Iterable<AgentSession>;
}

/**
 * One liveness pass (the gateway runs it every second, on every replica):
 *
 * - a stream held here that has been silent for longer than `unreachableAfterMs` (or never sent its Hello) is
 *   ended, which marks its server `unreachable`;
 * - any `connected` server whose `lastSeenAt` is older than that becomes `unreachable`, wherever its session
 *   lived (a replica that died cannot mark its own servers). One conditional UPDATE, so replicas sweeping at the
 *   same moment each change a row at most once. Servers with a live stream here are left out: their row's
 *   `lastSeenAt` is written only once per heartbeat interval and may lag the stream.
 *
 * Returns the ids of the servers the UPDATE marked.
 */
export async function sweepLiveness(options: LivenessSweepOptions): Promise<string[]> {
  const { em, now, log, unreachableAfterMs } = options;
  const cutoff = new Date(now.getTime() - unreachableAfterMs);
  const live: string[] = [];
  for (const session of options.sessions) {
    if (session.lastSeenAt < cutoff) {
      session.end('service_unavailable', `no message from the agent for more than ${unreachableAfterMs} ms`);
    } else if (session.isOpen) {
      live.push(session.serverId);
    }
  }
  const rows: Array<{ id: string }> = await em
    .getKnex()('servers')
    .update({ connection_state: 'unreachable' })
    .where('connection_state', 'connected')
    .where('last_seen_at', '<', cutoff)
    .whereNotIn('id', live)
    .returning(['id']);
  for (const { id } of rows) log.info({ serverId: id }, 'server unreachable: no message from its agent in time');
  return rows.map((row) => row.id);
}
