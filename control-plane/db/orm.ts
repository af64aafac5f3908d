import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from '../../shared/logger.js';
import { entities } from './entities.js';
import { migrations } from './migration-list.js';

// Any fixed number works; it only has to be the same on every replica.
const migrationLockId = 5_140_001;

/** The MikroORM options for a database URL; shared by the app, the migration script and tests. */
export function ormOptions(url: string, log?: Logger): Options {
  return {
    clientUrl: url,
    entities,
    extensions: [Migrator],
    // Migrations are listed explicitly instead of globbed from a folder, so they load the same way under tsx, tests and a bundle.
    migrations: { migrationsList: migrations, transactional: true, allOrNothing: true, snapshot: false },
    pool: { min: 0, max: 10 },
    discovery: { warnWhenNoEntities: true },
    debug: false,
    forceUtcTimezone: true,
    ...(log ? { logger: (message: string) => log.debug({ orm: message }, 'orm') } : {}),
  };
}

/** Opens the ORM on `url`; the caller closes it. */
export async function openOrm(url: string, log?: Logger): Promise<MikroORM> {
  return MikroORM.init(ormOptions(url, log));
}

/**
 * Applies pending migrations exactly once even when several replicas start together: a session advisory lock on a
 * separate connection serialises them, and the migrator skips what the first one applied.
 */
export async function migrate(orm: MikroORM, url: string, log: Logger): Promise<string[]> {
  const lockClient = new pg.Client({ connectionString: url });
  await lockClient.connect();
  try {
    await lockClient.query('select pg_advisory_lock($1)', [migrationLockId]);
    const applied = await orm.getMigrator().up();
    const names = applied.map((m) => m.name);
    if (names.length > 0) log.info({ migrations: names }, 'database migrations applied');
    else log.debug('database schema is up to date');
    return names;
  } finally {
    await lockClient.query('select pg_advisory_unlock($1)', [migrationLockId]).catch(() => undefined);
    await lockClient.end();
  }
}
