import pg from 'pg';
import { type Cluster, startThrowawayCluster } from '../../test/helpers/pg-cluster.js';

export type { Cluster };

/** A throwaway PostgreSQL 15 cluster (the test suite's) with a `berth` database; `url` points at that database. */
export async function startCluster(): Promise<Cluster> {
  const cluster = await startThrowawayCluster({ folderPrefix: 'berth-bench-', maxConnections: 100 });
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('create database berth').finally(() => admin.end());
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const url = new URL(cluster.url);
  url.pathname = '/berth';
  return { ...cluster, url: url.toString() };
}
