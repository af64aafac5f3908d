import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../../shared/logger.js';
import { runningPostmasterPort } from '../db/embedded-postgres.js';

/** A connection for a one-off command, and how to let go of it (and of a database started for it). */
export interface CommandDatabase {
  client: pg.Client;
  /** Where the connection goes, for messages: `BERTH_DATABASE_URL`, or the embedded database and whether it was running. */
  description: string;
  close(): Promise<void>;
}

/**
 * Connects a command to the control plane's database: `BERTH_DATABASE_URL` when set; otherwise the embedded
 * PostgreSQL of the data folder, joined where a live control plane runs it (port from the cluster's `postmaster.pid`,
 * password from `<dataDir>/postgres-password`) or started for the command's duration and stopped by `close()`.
 */
export async function connectCommandDatabase(options: {
  databaseUrl: string | undefined;
  dataDir: string;
  log: Logger;
}): Promise<CommandDatabase> {
  if (options.databaseUrl !== undefined) return connect(options.databaseUrl, 'BERTH_DATABASE_URL');
  const clusterDir = path.join(options.dataDir, 'postgres');
  if (!existsSync(path.join(clusterDir, 'PG_VERSION')))
    throw new Error(`${clusterDir} holds no database (is BERTH_DATA_DIR right, or is BERTH_DATABASE_URL missing?)`);
  const port = await runningPostmasterPort(clusterDir);
  if (port !== undefined) {
    const password = (await fs.readFile(path.join(options.dataDir, 'postgres-password'), 'utf8')).trim();
    const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/berth`;
    try {
      return await connect(url, `the running embedded PostgreSQL in ${clusterDir}`);
    } catch (error) {
      // A stale postmaster.pid whose pid now belongs to another process: start the database ourselves.
      if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw error;
    }
  }
  // Loaded only here: importing it installs process hooks a command that joins a running database does not need.
  const { startEmbeddedPostgres } = await import('../db/embedded-postgres.js');
  const embedded = await startEmbeddedPostgres({
    dataDir: options.dataDir,
    log: options.log,
    onUnexpectedExit: (code, signal) =>
      options.log.error({ code, signal }, 'the embedded PostgreSQL exited during the command'),
  });
  try {
    const db = await connect(embedded.url, `the embedded PostgreSQL in ${clusterDir}, started for this command`);
    return {
      ...db,
      async close() {
        await db.close();
        await embedded.stop();
      },
    };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

async function connect(url: string, description: string): Promise<CommandDatabase> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return { client, description, close: () => client.end() };
}
