import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.js';
import { migrations } from './migration-list.js';
import { migrate, openOrm } from './orm.js';

const log = createLogger({ level: 'silent', name: 'test' });
let db: TestDatabase;
let orm: MikroORM;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await openOrm(db.url, log);
});
afterAll(async () => {
  await orm?.close();
  await db?.drop();
});

describe('migrations', () => {
  it('bring an empty database to exactly the schema the entities describe', async () => {
    const applied = await migrate(orm, db.url, log);
    expect(applied).toEqual(migrations.map((m) => m.name));
    const drift = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(drift.trim(), 'entities changed without a migration: run scripts/new-migration.ts').toBe('');
  });

  it('apply nothing the second time', async () => {
    expect(await migrate(orm, db.url, log)).toEqual([]);
  });

  it('are applied once when several processes migrate at the same moment', async () => {
    const other = await createTestDatabase();
    const orms = await Promise.all([1, 2, 3].map(() => openOrm(other.url, log)));
    try {
      const results = await Promise.all(orms.map((o) => migrate(o, other.url, log)));
      expect(results.flat().sort()).toEqual(migrations.map((m) => m.name).sort());
      const rows = await orms[0]!.em.getConnection().execute('select name from mikro_orm_migrations');
      expect(rows).toHaveLength(migrations.length);
    } finally {
      await Promise.all(orms.map((o) => o.close()));
      await other.drop();
    }
  });
});
