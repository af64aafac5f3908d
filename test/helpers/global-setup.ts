import type { TestProject } from 'vitest/node';
import { startThrowawayCluster } from './pg-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgresql:// URL of the `postgres` database on a server where the test user may create databases. */
    pgAdminUrl: string;
  }
}

/**
 * Vitest global setup: provides `pgAdminUrl` to every test file.
 *
 * With `BERTH_TEST_DATABASE_URL` set, that server is used as is and nothing is started. Otherwise a throwaway
 * PostgreSQL 15 cluster is created from the Debian binaries in a fresh folder under /tmp, listening on a free port of
 * 127.0.0.1 with a generated password; the returned teardown stops it and removes the folder.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env['BERTH_TEST_DATABASE_URL'];
  if (external) {
    project.provide('pgAdminUrl', external);
    return undefined;
  }
  // Each test file gets its own database and pools, so the default 100 connections run out with parallel forks.
  const cluster = await startThrowawayCluster({ folderPrefix: 'berth-pg-', maxConnections: 200 });
  project.provide('pgAdminUrl', cluster.url);
  return cluster.stop;
}
