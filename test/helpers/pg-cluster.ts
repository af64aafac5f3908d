import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../shared/free-port.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const START_ATTEMPTS = 3;

/** Options of {@link startThrowawayCluster}. */
export interface ClusterOptions {
  /** Folder name prefix under /tmp, so a leftover says who made it. */
  folderPrefix: string;
  maxConnections: number;
}

/** A running throwaway PostgreSQL 15 cluster. */
export interface Cluster {
  /** postgresql:// URL of the `postgres` database, as the superuser with the generated password. */
  url: string;
  /** The folder holding the data directory, the socket and the log; removed by `stop()`. */
  root: string;
  /** PID of the postmaster. */
  postmasterPid: number;
  /** Records a process for the reaper to SIGKILL should this process die without `stop()`. */
  registerChild(pid: number): Promise<void>;
  /** Stops the server (fast, then immediate) and removes the folder. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL 15 cluster from the Debian binaries (STACK.md §5) in a fresh folder under /tmp, on a
 * free port of 127.0.0.1 with a generated password, with test-only speed flags. Used by the test suite's global
 * setup and by the benchmarks.
 */
export async function startThrowawayCluster(options: ClusterOptions): Promise<Cluster> {
  await access(join(PG_BIN, 'initdb')).catch(() => {
    throw new Error(
      `PostgreSQL 15 binaries not found in ${PG_BIN}: run \`apt-get install postgresql-15\`, ` +
        'or set BERTH_TEST_DATABASE_URL to an existing server',
    );
  });
  const asPostgres = await postgresRunner();
  // Fixed /tmp rather than os.tmpdir(): TMPDIR may point somewhere the postgres user cannot enter.
  const root = await mkdtemp(`/tmp/${options.folderPrefix}`);
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  const password = randomBytes(24).toString('hex');
  let started = false;
  const reaper = startReaper(root, dataDir, [...asPostgres.prefix, join(PG_BIN, 'pg_ctl')]);
  const stop = async (): Promise<void> => {
    try {
      if (started) {
        // Fall back to immediate so a stuck client cannot leave a server running on a deleted folder.
        await asPostgres('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '20', 'stop']).catch(() =>
          asPostgres('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']),
        );
        started = false;
      }
    } finally {
      await rm(root, { recursive: true, force: true });
      reaper.kill();
    }
  };

  try {
    if (asPostgres.owner) await chown(root, asPostgres.owner.uid, asPostgres.owner.gid);
    const pwFile = join(root, 'pwfile');
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (asPostgres.owner) await chown(pwFile, asPostgres.owner.uid, asPostgres.owner.gid);
    await asPostgres('initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      `--pwfile=${pwFile}`,
      '--auth=scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync', // the cluster dies with the run, so durability buys nothing
    ]);
    await rm(pwFile);

    // The port is free when we look but another process may grab it before postgres binds it, so retry.
    let port = 0;
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      const serverFlags = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        // Socket inside our folder: /var/run/postgresql may not exist or may belong to a system cluster.
        `-k ${root}`,
        // Test-only speed flags: a crash loses data nobody needs.
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        `-c max_connections=${options.maxConnections}`,
      ].join(' ');
      try {
        await asPostgres('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', serverFlags, '-w', '-t', '60', 'start']);
        started = true;
      } catch (err) {
        if (attempt >= START_ATTEMPTS) throw err;
      }
    }
    const postmasterPid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return {
      url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
      root,
      postmasterPid,
      async registerChild(pid) {
        await writeFile(join(root, 'children.pid'), `${pid}\n`, { flag: 'a' });
      },
      stop,
    };
  } catch (err) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    await stop().catch(() => {});
    throw new Error(`could not start the throwaway PostgreSQL cluster: ${errorText(err)}\n${log.slice(-2000)}`, {
      cause: err,
    });
  }
}

interface PostgresRunner {
  (tool: string, args: string[]): Promise<void>;
  /** Command words placed before a PostgreSQL binary to run it (`runuser -u postgres --` as root). */
  prefix: string[];
  /** Set when running as root: files the server reads must belong to this user. */
  owner?: { uid: number; gid: number };
}

/**
 * A killed process skips its clean-up (vitest skips global teardown on SIGTERM), and the postmaster is not its
 * child, so the cluster would outlive it. A detached shell outside the process group waits for this process to end,
 * SIGKILLs the processes registered with `registerChild`, stops the server if it still runs and removes the folder;
 * after a normal stop it has nothing to do.
 */
function startReaper(root: string, dataDir: string, pgCtl: string[]): { kill(): void } {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'root=$2; data=$3; shift 3',
    'if [ -f "$root/children.pid" ]; then while read -r pid; do kill -9 "$pid" 2>/dev/null; done < "$root/children.pid"; fi',
    'if [ -f "$data/postmaster.pid" ]; then "$@" -D "$data" -m immediate -w stop >/dev/null 2>&1; fi',
    'rm -rf "$root"',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'berth-pg-reaper', String(process.pid), root, dataDir, ...pgCtl], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return { kill: () => child.kill() };
}

/** initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user. */
async function postgresRunner(): Promise<PostgresRunner> {
  if (process.getuid?.() !== 0) {
    const runner: PostgresRunner = async (tool, args) => {
      await run(join(PG_BIN, tool), args);
    };
    runner.prefix = [];
    return runner;
  }
  const ids = async (flag: string): Promise<number> => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  const owner = await Promise.all([ids('-u'), ids('-g')]).then(
    ([uid, gid]) => ({ uid, gid }),
    () => {
      throw new Error('running as root but there is no `postgres` user: run `apt-get install postgresql-15`');
    },
  );
  const prefix = ['runuser', '-u', 'postgres', '--'];
  const runner: PostgresRunner = async (tool, args) => {
    await run(prefix[0]!, [...prefix.slice(1), join(PG_BIN, tool), ...args]);
  };
  runner.prefix = prefix;
  runner.owner = owner;
  return runner;
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'stderr' in err && typeof err.stderr === 'string' && err.stderr.trim()) {
    return err.stderr.trim();
  }
  return err instanceof Error ? err.message : String(err);
}
