import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../control-plane/db/migration-list.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  type BerthProcess,
  cleanUpDataDir,
  killAllBerthProcesses,
  makeDataDir,
  startBerth,
} from './helpers/berth-process.js';

let dataDir: string;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  dataDir = await makeDataDir();
});

afterAll(async () => {
  await killAllBerthProcesses();
  await cleanUpDataDir(dataDir);
  for (const db of databases) await db.drop();
});

async function freshDatabase(): Promise<string> {
  const db = await createTestDatabase();
  databases.push(db);
  return db.url;
}

const startControlPlane = (databaseUrl: string) => startBerth({ command: 'control-plane', dataDir, databaseUrl });

/** Checks the process answers /readyz with 200, then stops it gracefully. */
async function checkReadyAndStop(berth: BerthProcess): Promise<void> {
  const res = await fetch(`${berth.url}/readyz`);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
  expect(await berth.stop('SIGTERM'), berth.stdout() + berth.stderr()).toBe(0);
}

const appliedMigrations = (berth: BerthProcess) =>
  berth.logs().filter((l) => l['msg'] === 'database migrations applied').length;

/** The names recorded in mikro_orm_migrations, in the order they were applied. */
async function migrationRows(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>('select name from mikro_orm_migrations order by id');
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

const expectedRows = migrations.map((m) => m.name);

describe('berth control-plane on your own PostgreSQL (BERTH_DATABASE_URL)', () => {
  it('applies the migrations once across sequential and concurrent starts', { timeout: 90_000 }, async () => {
    const url = await freshDatabase();
    const first = await startControlPlane(url);
    await checkReadyAndStop(first);
    const second = await startControlPlane(url);
    await checkReadyAndStop(second);
    const together = await Promise.all([startControlPlane(url), startControlPlane(url)]);
    expect(together[0].url).not.toBe(together[1].url);
    await Promise.all(together.map(checkReadyAndStop));

    expect(await migrationRows(url)).toEqual(expectedRows);
    expect([first, second, ...together].map(appliedMigrations)).toEqual([1, 0, 0, 0]);
    expect(existsSync(path.join(dataDir, 'postgres')), 'no embedded PostgreSQL with a database URL').toBe(false);
    const password = new URL(url).password;
    for (const berth of [first, second, ...together]) expect(berth.stdout() + berth.stderr()).not.toContain(password);
  });

  it('two control planes started together on an empty database apply each migration exactly once', {
    timeout: 60_000,
  }, async () => {
    const url = await freshDatabase();
    const together = await Promise.all([startControlPlane(url), startControlPlane(url)]);
    await Promise.all(together.map(checkReadyAndStop));

    expect(await migrationRows(url)).toEqual(expectedRows);
    expect(together.map(appliedMigrations).sort()).toEqual([0, 1]);
    expect(existsSync(path.join(dataDir, 'postgres'))).toBe(false);
  });
});
