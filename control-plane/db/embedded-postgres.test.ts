import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const dataDirs: string[] = [];
const timings: Record<string, number[]> = {};
const logLines: string[] = [];
const passwords = new Set<string>();
const unexpectedExits: string[] = [];

// Collects the structured log, both to read start timings from it and to prove the password never appears in it.
const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp('/tmp/berth-epg-test-');
  dataDirs.push(dir);
  return dir;
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = [...(timings[label] ?? []), Math.round(performance.now() - t0)];
  }
}

async function start(dataDir: string, label: string): Promise<EmbeddedPostgres> {
  const db = await timed(label, () =>
    startEmbeddedPostgres({
      dataDir,
      log,
      onUnexpectedExit: (code, signal) => void unexpectedExits.push(`${dataDir}: code ${code}, signal ${signal}`),
    }),
  );
  passwords.add(db.password);
  return db;
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const isAlive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return false;
  }
};

async function pgrep(pattern: string): Promise<string> {
  return run('pgrep', ['-af', pattern]).then(
    (r) => r.stdout.trim(),
    () => '',
  );
}

afterAll(async () => {
  const leftovers = (await Promise.all(dataDirs.map(pgrep))).filter(Boolean).join('\n');
  // Kill leftovers by PID so that a failed assertion does not also leave servers running on deleted folders.
  for (const pid of leftovers.split('\n').filter(Boolean)) process.kill(Number.parseInt(pid, 10), 'SIGKILL');
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  console.info('embedded-postgres timings (ms):', JSON.stringify(timings));
  expect(leftovers, 'PostgreSQL processes left behind').toBe('');
  expect(logLines.filter((l) => [...passwords].some((pw) => l.includes(pw)))).toEqual([]);
}, 30_000);

describe('startEmbeddedPostgres', () => {
  it('keeps data across a clean restart', async () => {
    const dataDir = await newDataDir();
    const first = await start(dataDir, 'start new data dir');
    try {
      expect(first.url).toBe(`postgresql://postgres:${first.password}@127.0.0.1:${first.port}/berth`);
      expect(Buffer.from(first.password, 'base64url')).toHaveLength(32);
      const pwStat = await stat(path.join(dataDir, 'postgres-password'));
      expect(pwStat.mode & 0o777).toBe(0o600);
      await query(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')");
    } finally {
      await timed('stop', () => first.stop());
    }
    await first.stop(); // a second stop on a stopped cluster returns at once
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    const second = await start(dataDir, 'start existing data dir');
    try {
      expect(second.password).toBe(first.password);
      expect((await query(second.url, 'SELECT v FROM kept')).rows).toEqual([{ v: 'hello' }]);
      const started = logLines.map((l) => JSON.parse(l)).filter((r) => r.msg === 'embedded PostgreSQL started');
      expect(started.at(-1)).toMatchObject({ port: second.port, initialised: false });
      expect(started.at(-1).dataDir).toBe(path.join(dataDir, 'postgres'));
      expect(unexpectedExits).toEqual([]);
    } finally {
      await timed('stop', () => second.stop());
    }
  }, 90_000);

  it('recovers after the process holding it is killed with SIGKILL', async () => {
    const dataDir = await newDataDir();
    const holder = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/embedded-postgres-holder.ts', dataDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    holder.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        holder.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const ready = /^READY (\S+)$/m.exec(out);
          if (ready) resolve(ready[1]!);
        });
        holder.once('exit', (code) => reject(new Error(`holder exited (${code}) before READY:\n${stderr}`)));
      });
      expect(url).toMatch(/^postgresql:\/\/postgres:.+@127\.0\.0\.1:\d+\/berth$/);
      const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
      const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);

      holder.kill('SIGKILL');
      await exited;
      expect(isAlive(postmaster), 'the postmaster outlives its parent').toBe(true);

      const db = await start(dataDir, 'start after kill -9');
      try {
        expect(isAlive(postmaster), 'the orphan was stopped').toBe(false);
        expect(logLines.some((l) => l.includes('stopping an orphaned PostgreSQL'))).toBe(true);
        const rows = (await query(db.url, 'SELECT id, note FROM survivor')).rows;
        expect(rows).toEqual([{ id: 1, note: 'written before kill -9' }]);
      } finally {
        await timed('stop', () => db.stop());
      }
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    }
  }, 90_000);

  it('answers only on loopback with a password', async () => {
    const dataDir = await newDataDir();
    const db = await start(dataDir, 'start new data dir');
    try {
      const wrong = new pg.Client({ ...connection(db), password: 'not-the-password' });
      await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
      await wrong.end().catch(() => undefined);
      const settings = await query(
        db.url,
        "SELECT current_setting('listen_addresses') AS listen, current_database() AS db",
      );
      expect(settings.rows).toEqual([{ listen: '127.0.0.1', db: 'berth' }]);
      // Any other address of this machine must refuse the connection outright.
      const other = Object.values(os.networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
      if (other) {
        const outside = new pg.Client({ ...connection(db), host: other });
        await expect(outside.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
        await outside.end().catch(() => undefined);
      }
    } finally {
      await timed('stop', () => db.stop());
    }
  }, 60_000);

  it('reports an unexpected exit, and stop() then returns at once', async () => {
    const dataDir = await newDataDir();
    const db = await start(dataDir, 'start new data dir');
    const postmaster = Number(
      (await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    process.kill(postmaster, 'SIGKILL');
    await expect.poll(() => unexpectedExits.length, { timeout: 10_000 }).toBe(1);
    expect(unexpectedExits[0]).toBe(`${dataDir}: code null, signal SIGKILL`);
    unexpectedExits.length = 0;
    const t0 = performance.now();
    await db.stop();
    expect(performance.now() - t0).toBeLessThan(100);
    // Its children notice the postmaster's death on their own; wait for them so the leak check stays meaningful.
    await expect.poll(() => pgrep(dataDir), { timeout: 10_000 }).toBe('');
  }, 60_000);
});

function connection(db: EmbeddedPostgres): pg.ClientConfig {
  return { host: db.host, port: db.port, user: db.user, password: db.password, database: db.database };
}
