import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './db.js';

const created: TestDatabase[] = [];
const clients: pg.Client[] = [];

afterAll(async () => {
  await Promise.all(clients.map((client) => client.end().catch(() => {})));
  await Promise.all(created.map((db) => db.drop()));
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  created.push(db);
  return db;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

describe('createTestDatabase', () => {
  it('gives each caller its own empty database', async () => {
    const [a, b] = await Promise.all([database(), database()]);
    expect(a.url).not.toBe(b.url);
    const clientA = await connect(a.url);
    const clientB = await connect(b.url);

    await clientA.query('CREATE TABLE widgets (id int PRIMARY KEY)');

    const inA = await clientA.query("SELECT to_regclass('public.widgets') AS t");
    const inB = await clientB.query("SELECT to_regclass('public.widgets') AS t");
    expect(inA.rows[0].t).toBe('widgets');
    expect(inB.rows[0].t).toBeNull();
  });

  it('drops the database even while a connection to it is still open', async () => {
    const db = await database();
    const name = new URL(db.url).pathname.slice(1);
    expect(name).toMatch(/^berth_test_[0-9a-f]+$/);
    const open = await connect(db.url);
    open.on('error', () => {}); // the forced drop kills this session on purpose

    await db.drop();

    const admin = await connect(new URL('/postgres', db.url).toString());
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    expect(found.rowCount).toBe(0);
  });
});
