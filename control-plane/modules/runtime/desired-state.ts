import type { EntityManager } from '@mikro-orm/postgresql';
import type { DesiredRuntime, DesiredStateDocument } from '../../../shared/runtime-command.js';
import { knexOf } from '../../db/knex.js';
import { commandsChannel } from '../agent-commands/channels.js';

/**
 * Sets the runtime of one resource in its server's desired state (and drops it from every other server's), bumps
 * the version and wakes the session holding that server's agent, which sends the new document.
 */
export async function setDesiredRuntime(
  em: EntityManager,
  serverId: string,
  runtime: DesiredRuntime,
  now: Date,
): Promise<void> {
  await em.transactional(async (tx) => {
    const knex = knexOf(tx);
    const others = await knex('server_desired_states')
      .whereNot('server_id', serverId)
      .forUpdate()
      .select('server_id', 'document', 'version');
    for (const row of others as Array<{ server_id: string; document: DesiredStateDocument; version: number }>) {
      const kept = row.document.runtimes.filter((r) => r.resourceId !== runtime.resourceId);
      if (kept.length === row.document.runtimes.length) continue;
      await knex('server_desired_states')
        .where('server_id', row.server_id)
        .update({ document: JSON.stringify({ runtimes: kept }), version: row.version + 1, updated_at: now });
      await knex.raw('select pg_notify(?, ?)', [commandsChannel, row.server_id]);
    }
    await knex.raw(
      `insert into server_desired_states (server_id, version, document, updated_at) values (?, 0, '{"runtimes":[]}', ?) on conflict (server_id) do nothing`,
      [serverId, now],
    );
    const row = (await knex('server_desired_states')
      .where('server_id', serverId)
      .forUpdate()
      .first('document', 'version')) as { document: DesiredStateDocument; version: number };
    const runtimes = [...row.document.runtimes.filter((r) => r.resourceId !== runtime.resourceId), runtime];
    await knex('server_desired_states')
      .where('server_id', serverId)
      .update({ document: JSON.stringify({ runtimes }), version: row.version + 1, updated_at: now });
    await knex.raw('select pg_notify(?, ?)', [commandsChannel, serverId]);
  });
}

/** The server's desired state, or null before anything was deployed there. */
export async function desiredStateOf(
  em: EntityManager,
  serverId: string,
): Promise<{ version: number; document: DesiredStateDocument } | null> {
  const row = await knexOf(em)('server_desired_states').where('server_id', serverId).first('version', 'document');
  return row ? { version: Number(row.version), document: row.document as DesiredStateDocument } : null;
}
