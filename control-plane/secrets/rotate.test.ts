import { createCipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.js';
import { createKeyRing, type KeyRing, readKeyFile } from './key-ring.js';
import { kekId } from './key-source.js';
import { type RotationProgress, rotateSecretKey } from './rotate.js';
import type { SealedColumn } from './sealed-columns.js';

const log = createLogger({ level: 'silent', name: 'test' });
let db: TestDatabase;
let client: pg.Client;
let tableCount = 0;
const dirs: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), data]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** A scratch table with a bigint id (so the batch update's id cast is exercised) and `rows` values sealed by `ring`. */
async function scratchTable(rows: number, seal: (plaintext: string) => string): Promise<SealedColumn> {
  const table = `scratch_secrets_${++tableCount}`;
  await client.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, sealed text)`);
  for (let id = 1; id <= rows; id++)
    await client.query(`INSERT INTO ${table} VALUES ($1, $2)`, [id, id % 7 === 0 ? null : seal(`value ${id}`)]);
  return { table, column: 'sealed', idColumn: 'id' };
}

async function openAll(column: SealedColumn, ring: KeyRing): Promise<Map<string, string>> {
  const { rows } = await client.query(`SELECT id, sealed FROM ${column.table} WHERE sealed IS NOT NULL ORDER BY id`);
  return new Map(rows.map((row) => [String(row.id), ring.open(row.sealed)]));
}

function keyFile(keys: Buffer[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rotate-'));
  dirs.push(dir);
  const file = path.join(dir, 'secret.key');
  fs.writeFileSync(file, keys.map((k) => `${k.toString('base64')}\n`).join(''), { mode: 0o600 });
  return file;
}

describe('rotateSecretKey', () => {
  it('moves every value of a key file setup to a new key in batches, then leaves only the new key in the file', async () => {
    const oldKey = randomBytes(32);
    const oldRing = createKeyRing(oldKey);
    // Every seventh row is NULL, every fifth a legacy v1 value.
    let n = 0;
    const column = await scratchTable(45, (text) => (++n % 5 === 0 ? sealV1(oldKey, text) : oldRing.seal(text)));
    const before = await openAll(column, oldRing);
    const file = keyFile([oldKey]);
    const events: RotationProgress[] = [];

    const result = await rotateSecretKey({
      db: client,
      keySource: { kind: 'file', file },
      log,
      columns: [column, { table: 'config_entries', column: 'sealed_value', idColumn: 'id' }],
      batchSize: 10,
      settleMs: 0,
      onProgress: (event) => events.push(event),
    });

    const fileKeys = readKeyFile(file);
    expect(fileKeys).toHaveLength(1);
    expect(result.newKeyId).toBe(kekId(fileKeys[0]!));
    expect(result.oldKeyIds).toEqual([kekId(oldKey)]);
    expect(result.oldKeysDropped).toBe(true);
    expect(result.columns).toEqual([
      { table: column.table, column: 'sealed', rewrapped: before.size, values: before.size },
      { table: 'config_entries', column: 'sealed_value', skipped: 'table does not exist', rewrapped: 0, values: 0 },
    ]);
    expect(await openAll(column, createKeyRing(fileKeys))).toEqual(before);
    const batches = events.filter((e) => e.kind === 'rewrapped').map((e) => e.rows);
    expect(batches).toEqual([10, 10, 10, 9]);
    expect(events.map((e) => e.kind)).toEqual([
      'column-skipped',
      'key-file-written',
      ...batches.map(() => 'rewrapped'),
      'verified',
      'old-keys-dropped',
    ]);
  });

  it('keeps the previous keys after the new one when asked to', async () => {
    const oldKey = randomBytes(32);
    const column = await scratchTable(3, (text) => createKeyRing(oldKey).seal(text));
    const file = keyFile([oldKey]);
    const newKey = randomBytes(32);
    const result = await rotateSecretKey({
      db: client,
      keySource: { kind: 'file', file },
      newKey,
      keepPrevious: true,
      log,
      columns: [column],
      settleMs: 0,
    });
    expect(result.oldKeysDropped).toBe(false);
    expect(readKeyFile(file).map(kekId)).toEqual([kekId(newKey), kekId(oldKey)]);
    expect((await openAll(column, createKeyRing(newKey))).size).toBe(3);
  });

  it('with BERTH_SECRET_KEY re-wraps under the new key and leaves dropping the old one to the operator', async () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const column = await scratchTable(5, (text) => createKeyRing(oldKey).seal(text));
    const result = await rotateSecretKey({
      db: client,
      keySource: { kind: 'env', keys: [newKey, oldKey] },
      newKey,
      log,
      columns: [column],
    });
    expect(result).toMatchObject({ source: 'env', newKeyId: kekId(newKey), oldKeyIds: [kekId(oldKey)] });
    expect(result.oldKeysDropped).toBe(false);
    expect(result.columns[0]).toMatchObject({ rewrapped: 5, values: 5 });
    expect((await openAll(column, createKeyRing(newKey))).size).toBe(5);
  });

  it('with BERTH_SECRET_KEY refuses to start unless the new key is given and already first in the list', async () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const column = await scratchTable(1, (text) => createKeyRing(oldKey).seal(text));
    const base = { db: client, log, columns: [column] };
    await expect(rotateSecretKey({ ...base, keySource: { kind: 'env', keys: [newKey, oldKey] } })).rejects.toThrow(
      'with BERTH_SECRET_KEY the new key must be given (--new-key or BERTH_NEW_SECRET_KEY)',
    );
    await expect(rotateSecretKey({ ...base, keySource: { kind: 'env', keys: [oldKey] }, newKey })).rejects.toThrow(
      'BERTH_SECRET_KEY must start with the new key (BERTH_SECRET_KEY=<new>,<old>)',
    );
    expect((await openAll(column, createKeyRing(oldKey))).size).toBe(1);
  });

  it('stops with the old keys still in the file when a value opens with no key, naming its row', async () => {
    const oldKey = randomBytes(32);
    const stranger = createKeyRing(randomBytes(32));
    const column = await scratchTable(4, (text) =>
      text === 'value 3' ? stranger.seal(text) : createKeyRing(oldKey).seal(text),
    );
    const file = keyFile([oldKey]);
    await expect(
      rotateSecretKey({ db: client, keySource: { kind: 'file', file }, log, columns: [column], settleMs: 0 }),
    ).rejects.toThrow(`cannot re-wrap ${column.table}.sealed of row 3: sealed with key ${stranger.primaryKeyId()}`);
    const keys = readKeyFile(file);
    expect(keys.map(kekId)).toContain(kekId(oldKey));
    // The failed batch rolled back: every other value still opens with the keys in the file.
    const { rows } = await client.query(`SELECT sealed FROM ${column.table} WHERE id <> 3 AND sealed IS NOT NULL`);
    for (const row of rows) expect(createKeyRing(keys).open(row.sealed)).toMatch(/^value /);
  });

  it('keeps the old keys in the file when a value already under the new key fails verification', async () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const column = await scratchTable(3, (text) => createKeyRing(oldKey).seal(text));
    // A damaged value that claims the new key: re-wrapping skips it, so only the verification can catch it.
    const parts = createKeyRing(newKey).seal('damaged').split('.');
    parts[5] = Buffer.from('garbage').toString('base64url');
    await client.query(`UPDATE ${column.table} SET sealed = $1 WHERE id = 2`, [parts.join('.')]);
    const file = keyFile([oldKey]);
    await expect(
      rotateSecretKey({ db: client, keySource: { kind: 'file', file }, newKey, log, columns: [column], settleMs: 0 }),
    ).rejects.toThrow(`${column.table}.sealed of row 2 does not open with the new key`);
    expect(readKeyFile(file).map(kekId)).toEqual([kekId(newKey), kekId(oldKey)]);
  });

  it('refuses to run while another rotation holds the lock on the same database', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(5140002)');
      const file = keyFile([randomBytes(32)]);
      const before = fs.readFileSync(file, 'utf8');
      await expect(
        rotateSecretKey({ db: client, keySource: { kind: 'file', file }, log, columns: [], settleMs: 0 }),
      ).rejects.toThrow('another key rotation is running against this database');
      expect(fs.readFileSync(file, 'utf8')).toBe(before);
    } finally {
      await other.end();
    }
  });

  it('skips a registered column an older schema lacks and still rotates the key', async () => {
    await client.query('CREATE TABLE older_schema (id integer PRIMARY KEY)');
    const oldKey = randomBytes(32);
    const file = keyFile([oldKey]);
    const result = await rotateSecretKey({
      db: client,
      keySource: { kind: 'file', file },
      log,
      columns: [{ table: 'older_schema', column: 'sealed_value', idColumn: 'id' }],
      settleMs: 0,
    });
    expect(result.columns).toEqual([
      {
        table: 'older_schema',
        column: 'sealed_value',
        skipped: 'column sealed_value does not exist',
        rewrapped: 0,
        values: 0,
      },
    ]);
    expect(readKeyFile(file).map(kekId)).toEqual([result.newKeyId]);
    expect(result.oldKeyIds).toEqual([kekId(oldKey)]);
  });
});
