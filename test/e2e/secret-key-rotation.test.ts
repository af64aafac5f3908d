import { execFile } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openOrm } from '../../control-plane/db/orm.js';
import { loadOrCreateAgentCa } from '../../control-plane/pki/ca-store.js';
import { createKeyRing, type KeyRing, loadKeyRing, readKeyFile } from '../../control-plane/secrets/key-ring.js';
import { kekId } from '../../control-plane/secrets/key-source.js';
import { createLogger } from '../../shared/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { berthBin, cleanUpDataDir, makeDataDir, repoRoot } from './helpers/berth-process.js';

const log = createLogger({ level: 'silent', name: 'test' });
const extraCaRows = 240;
const scratchRows = 150;
let dataDir: string;
let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  dataDir = await makeDataDir();
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
  if (dataDir) await cleanUpDataDir(dataDir);
});

function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), data]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/**
 * Runs the real `node bin/berth.js secret-key rotate`. A preloaded module adds the test's scratch table to the
 * sealed-column registry of that process (the same module instance the command imports), so the product needs no
 * test-only flag for it.
 */
async function rotateCommand(scratchTable: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const preload = path.join(dataDir, 'register-scratch-column.mjs');
  const registry = pathToFileURL(path.join(repoRoot, 'control-plane', 'secrets', 'sealed-columns.ts')).href;
  await writeFile(
    preload,
    `const { sealedColumns } = await import(${JSON.stringify(registry)});\n` +
      `sealedColumns.push({ table: ${JSON.stringify(scratchTable)}, column: 'sealed', idColumn: 'id' });\n`,
  );
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) env[key] = value;
  Object.assign(env, { BERTH_DATA_DIR: dataDir, BERTH_DATABASE_URL: db.url });
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--import', pathToFileURL(preload).href, berthBin, 'secret-key', 'rotate'],
      { cwd: repoRoot, env, timeout: 30_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** Every sealed value in the two tables, opened with `ring`; a value that fails to open shows as `!<message>`. */
async function openEverything(ring: KeyRing, scratchTable: string): Promise<Map<string, string>> {
  const ca = await client.query('SELECT id, sealed_private_key AS sealed FROM certificate_authorities');
  const scratch = await client.query(`SELECT id, sealed FROM ${scratchTable}`);
  const opened = new Map<string, string>();
  for (const [prefix, rows] of [
    ['ca', ca.rows],
    ['scratch', scratch.rows],
  ] as const) {
    for (const row of rows) {
      let value: string;
      try {
        value = ring.open(row.sealed);
      } catch (error) {
        value = `!${(error as Error).message}`;
      }
      opened.set(`${prefix}:${row.id}`, value);
    }
  }
  return opened;
}

describe('berth secret-key rotate', () => {
  it('moves every value to a new key while a running control plane keeps reading and writing, with no failure', async () => {
    // The "running control plane": a ring on the data folder's key file, as main.ts builds it.
    const live = loadKeyRing({ secretKey: undefined, dataDir, log });
    const keyFile = path.join(dataDir, 'secret.key');
    const oldKey = readKeyFile(keyFile)[0]!;
    const oldKeyId = live.primaryKeyId();

    const orm = await openOrm(db.url, log);
    await migrate(orm, db.url, log);
    const ca = await loadOrCreateAgentCa(orm.em.fork(), live, log);
    await orm.close();
    const expected = new Map<string, string>([['ca:agent-ca', ca.privateKeyPem]]);
    for (let i = 0; i < extraCaRows; i++) {
      const secret = `ca key ${i}`;
      // Every tenth row is a legacy v1 value, as written before envelope encryption.
      const sealed = i % 10 === 0 ? sealV1(oldKey, secret) : live.seal(secret);
      await client.query(
        'INSERT INTO certificate_authorities (id, certificate_pem, sealed_private_key, created_at) VALUES ($1, $2, $3, now())',
        [`ca-${i}`, 'pem', sealed],
      );
      expected.set(`ca:ca-${i}`, secret);
    }
    const scratchTable = 'scratch_secrets';
    await client.query(`CREATE TABLE ${scratchTable} (id integer PRIMARY KEY, sealed text NOT NULL)`);
    for (let id = 1; id <= scratchRows; id++) {
      await client.query(`INSERT INTO ${scratchTable} VALUES ($1, $2)`, [id, live.seal(`scratch ${id}`)]);
      expected.set(`scratch:${id}`, `scratch ${id}`);
    }

    // While the command runs, the live ring opens every value in a loop and seals a new one each round, the way a
    // control plane serving requests would.
    const failures: string[] = [];
    let rounds = 0;
    let nextId = scratchRows + 1;
    let stop = false;
    const keysSeen = new Set<string>();
    const traffic = (async () => {
      while (!stop) {
        for (const [key, value] of await openEverything(live, scratchTable))
          if (value !== expected.get(key)) failures.push(`${key}: ${value}`);
        const id = nextId++;
        const sealed = live.seal(`scratch ${id}`);
        keysSeen.add(live.keyIdOf(sealed)!);
        await client.query(`INSERT INTO ${scratchTable} VALUES ($1, $2)`, [id, sealed]);
        expected.set(`scratch:${id}`, `scratch ${id}`);
        rounds++;
        await sleep(10);
      }
    })();

    const outcome = await rotateCommand(scratchTable);
    const roundsDuring = rounds;
    while (rounds < roundsDuring + 3) await sleep(10);
    stop = true;
    await traffic;

    expect(outcome.code, `${outcome.stdout}\n${outcome.stderr}`).toBe(0);
    expect(failures.slice(0, 5), 'the running ring failed to open a value').toEqual([]);
    expect(roundsDuring, 'the traffic loop overlapped the rotation').toBeGreaterThan(20);

    const fileKeys = readKeyFile(keyFile);
    expect(fileKeys, 'the key file holds only the new key').toHaveLength(1);
    const newKeyId = kekId(fileKeys[0]!);
    expect(newKeyId).not.toBe(oldKeyId);
    expect(live.primaryKeyId(), 'the running ring switched without a restart').toBe(newKeyId);
    expect([...keysSeen].sort()).toEqual([newKeyId, oldKeyId].sort());

    const onlyNew = await openEverything(createKeyRing(fileKeys), scratchTable);
    expect(onlyNew).toEqual(expected);

    const line = (prefix: string) => outcome.stdout.split('\n').find((l) => l.trim().startsWith(prefix)) ?? '';
    expect(line('new key:')).toContain(newKeyId);
    expect(line('old keys:')).toContain(oldKeyId);
    const counts = (label: string) => {
      const match = /: (\d+) re-wrapped, (\d+) sealed values/.exec(line(label));
      expect(match, `summary line for ${label}:\n${outcome.stdout}`).not.toBeNull();
      return { rewrapped: Number(match![1]), values: Number(match![2]) };
    };
    expect(counts('certificate_authorities.sealed_private_key:')).toEqual({
      rewrapped: extraCaRows + 1,
      values: extraCaRows + 1,
    });
    const scratch = counts(`${scratchTable}.sealed:`);
    // Rows the traffic loop sealed with the old key were re-wrapped too; rows it wrote after verification are not counted.
    expect(scratch.rewrapped).toBeGreaterThanOrEqual(scratchRows);
    expect(scratch.values).toBeGreaterThanOrEqual(scratchRows);
    expect(scratch.values).toBeLessThanOrEqual(nextId - 1);
  });
});
