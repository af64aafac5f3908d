import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** A database created for one test file (or one test); `drop()` is safe to call more than once. */
export interface TestDatabase {
  /** postgresql:// URL of the new, empty database, with the admin credentials. */
  url: string;
  /** Terminates every connection to the database, then drops it. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh empty database named `berth_test_<random>` on the server from the global setup
 * (`inject('pgAdminUrl')`), so test files running in parallel never see each other's tables.
 * Call `drop()` in `afterAll`; databases left behind vanish with the throwaway cluster anyway, but not on a
 * server given through `BERTH_TEST_DATABASE_URL`.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  // Lowercase hex only: the name then needs no quoting rules beyond the double quotes below.
  const name = `berth_test_${randomBytes(8).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      // FORCE (PostgreSQL 13+) terminates the pools tests forgot to close instead of failing with "in use".
      await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
