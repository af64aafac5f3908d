import { execFile, spawn } from 'node:child_process';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../shared/free-port.js';

const run = promisify(execFile);
const pgBin = '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL 15 cluster (STACK.md §5), run as the `postgres` user when we are root. */
export interface Cluster {
  /** postgresql:// URL of the `berth` database (trust auth, 127.0.0.1 only). */
  url: string;
  /** The folder holding the data directory, the socket and the log; removed by `stop()`. */
  root: string;
  /** PID of the postmaster. */
  postmasterPid: number;
  /** Records a process for the reaper to SIGKILL should this process die without `stop()`. */
  registerChild(pid: number): Promise<void>;
  /** Stops the server (fast, then immediate) and removes the folder. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a cluster in a fresh folder under /tmp (not os.tmpdir(): the `postgres` user must reach it). */
export async function startCluster(): Promise<Cluster> {
  const root = await mkdtemp('/tmp/berth-bench-');
  const dataDir = join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  const prefix = asRoot ? ['runuser', '-u', 'postgres', '--'] : [];
  const asPostgres = async (tool: string, args: string[]) => {
    const argv = [...prefix, join(pgBin, tool), ...args];
    await run(argv[0]!, argv.slice(1));
  };
  const reaper = startReaper(root, dataDir, [...prefix, join(pgBin, 'pg_ctl')]);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await asPostgres('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '20', 'stop'])
      .catch(() => asPostgres('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']))
      .catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    reaper.kill();
  };
  try {
    if (asRoot) {
      const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
      await chown(root, await id('-u'), await id('-g'));
    }
    await asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '-N']);
    const port = await freePort();
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-k ${root}`,
      // Throwaway cluster: durability buys nothing (the same flags as the test suite's cluster).
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=100',
    ].join(' ');
    await asPostgres('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      join(root, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('create database berth').finally(() => admin.end());
    const postmasterPid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return {
      url: `postgresql://postgres@127.0.0.1:${port}/berth`,
      root,
      postmasterPid,
      async registerChild(pid) {
        await writeFile(join(root, 'children.pid'), `${pid}\n`, { flag: 'a' });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Should the bench die without cleaning up (SIGKILL, crash), a detached shell outside its process group waits for
 * it to end, SIGKILLs the processes it registered, stops the server if it still runs and removes the folder.
 * After a normal clean-up it has nothing left to do and is killed.
 */
function startReaper(root: string, dataDir: string, pgCtl: string[]): { kill(): void } {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'root=$2; data=$3; shift 3',
    'if [ -f "$root/children.pid" ]; then while read -r pid; do kill -9 "$pid" 2>/dev/null; done < "$root/children.pid"; fi',
    'if [ -f "$data/postmaster.pid" ]; then "$@" -D "$data" -m immediate -w stop >/dev/null 2>&1; fi',
    'rm -rf "$root"',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'berth-bench-reaper', String(process.pid), root, dataDir, ...pgCtl], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return { kill: () => child.kill() };
}
