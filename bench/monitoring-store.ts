/**
 * Monitoring storage: how fast telemetry batches are stored (rows/s into PostgreSQL, through the ingest the gateway
 * uses: one `json_populate_recordset` insert and a cursor update per batch, in one transaction), and how long the
 * rollup takes over 30 days of 5 s host samples of one server (518,400 rows), through the same read the API serves.
 * A throwaway PostgreSQL 15 cluster, no HTTP in between. Method and results: docs/benchmarks.md.
 *
 *   npm run bench:monitoring                               # about 1 min
 *   npm run bench:monitoring -- --batches 400 --containers 200 --json /tmp/monitoring.json
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { migrate, openOrm } from '../control-plane/db/orm.js';
import { Organization } from '../control-plane/modules/identity/entity.js';
import { batchRows, createTelemetryIngest, insertSamples } from '../control-plane/modules/monitoring/ingest.js';
import { readRollup } from '../control-plane/modules/monitoring/reads.js';
import { resolveScope } from '../control-plane/modules/monitoring/scope.js';
import { signals } from '../control-plane/modules/monitoring/totals.js';
import { Server } from '../control-plane/modules/servers/entity.js';
import { TelemetryBatchSchema } from '../shared/gen/berth/agent/v1/agent_pb.js';
import { createLogger } from '../shared/logger.js';
import { positive } from './lib/args.js';
import { startCluster } from './lib/postgres.js';
import { percentile, progress, round } from './lib/stats.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    batches: { type: 'string' },
    containers: { type: 'string' },
    servers: { type: 'string' },
    days: { type: 'string' },
    json: { type: 'string' },
  },
});
const options = {
  /** Batches stored per server in the ingest phase. */
  batches: positive('batches', args.batches, 200),
  /** Container samples per batch (plus one host sample): a busy server's 5 s flush. */
  containers: positive('containers', args.containers, 100),
  /** Servers sending at once (each its own stream, so batches of different servers are stored concurrently). */
  servers: positive('servers', args.servers, 4),
  /** Days of 5 s host samples for the rollup phase. */
  days: positive('days', args.days, 30),
};
const startedAt = Date.now();
const log = createLogger({ level: 'silent', name: 'bench' });

function batchOf(serverId: string, seq: number, at: Date, containers: number) {
  return create(TelemetryBatchSchema, {
    spoolId: `bench-${serverId}`,
    batchSeq: BigInt(seq),
    hosts: [
      {
        observedAt: timestampFromDate(at),
        logicalCores: 2,
        loadAverage1m: 0.5,
        cpuPercent: 20 + (seq % 50),
        memoryTotalBytes: 24n << 30n,
        memoryUsedBytes: 4n << 30n,
        memoryAvailableBytes: 20n << 30n,
        disks: [{ mount: '/', filesystem: '/dev/vda1', totalBytes: 100n << 30n, usedBytes: 40n << 30n }],
        networkRxBytes: 1000n,
        networkTxBytes: 500n,
      },
    ],
    containers: Array.from({ length: containers }, (_, i) => ({
      observedAt: timestampFromDate(at),
      containerId: `c${i}`,
      projectId: 'prj-bench',
      environmentId: 'env-bench',
      resourceId: `res-bench-${i % 20}`,
      deploymentId: `dep-bench-${i}`,
      cpuPercent: i % 100,
      memoryUsedBytes: BigInt(64 << 20),
      networkRxBytes: 10n,
      networkTxBytes: 5n,
    })),
  });
}

async function main() {
  const cluster = await startCluster();
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: round(os.totalmem() / 1024 ** 3),
      node: process.version,
      kernel: os.release(),
    },
    settings: options,
  };
  const orm = await openOrm(cluster.url, log);
  try {
    await migrate(orm, cluster.url, log);
    const em = orm.em.fork();
    const now = new Date();
    em.create(Organization, { id: 'org-bench', name: 'Bench', slug: 'bench', createdAt: now, updatedAt: now });
    const serverIds = Array.from({ length: options.servers }, (_, i) => `srv-bench-${i}`);
    for (const id of [...serverIds, 'srv-bench-rollup']) {
      em.create(Server, {
        id,
        organization: 'org-bench',
        name: id,
        nameKey: id,
        host: '127.0.0.1',
        providerKey: 'generic-ssh',
        targetKind: 'single-server',
        proxyKind: 'caddy',
        createdAt: now,
        updatedAt: now,
      });
    }
    await em.flush();
    progress(startedAt, `cluster up, schema migrated, ${options.servers} servers`);

    // Ingest: every server sends its batches in order (as its stream does), all servers at once.
    const ingest = createTelemetryIngest({});
    const rowsPerBatch = options.containers + 1;
    const latencies: number[] = [];
    const ingestStart = performance.now();
    await Promise.all(
      serverIds.map(async (serverId) => {
        for (let seq = 1; seq <= options.batches; seq++) {
          const batch = batchOf(
            serverId,
            seq,
            new Date(now.getTime() - (options.batches - seq) * 5_000),
            options.containers,
          );
          const t0 = performance.now();
          await ingest.storeBatch(orm.em.fork(), serverId, batch, new Date());
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const ingestSeconds = (performance.now() - ingestStart) / 1000;
    const rows = options.batches * options.servers * rowsPerBatch;
    report['ingest'] = {
      batches: options.batches * options.servers,
      rowsPerBatch,
      rows,
      seconds: round(ingestSeconds, 2),
      rowsPerSecond: Math.round(rows / ingestSeconds),
      batchMs: { p50: round(percentile(latencies, 50), 1), p99: round(percentile(latencies, 99), 1) },
    };
    progress(
      startedAt,
      `ingest: ${Math.round(rows / ingestSeconds)} rows/s (${rows} rows in ${round(ingestSeconds, 2)} s)`,
    );

    // Rollup: `days` of one host sample every 5 s for one server, loaded in slices, then the API's rollup read.
    const perDay = 86_400 / 5;
    const total = perDay * options.days;
    const from = new Date(now.getTime() - options.days * 86_400_000);
    const loadStart = performance.now();
    const slice = 20_000;
    for (let offset = 0; offset < total; offset += slice) {
      const sliceRows = [];
      for (let i = offset; i < Math.min(total, offset + slice); i++) {
        sliceRows.push(
          ...batchRows(
            'srv-bench-rollup',
            batchOf('srv-bench-rollup', i + 1, new Date(from.getTime() + i * 5_000), 0),
            now,
          ),
        );
      }
      await insertSamples(orm.em.fork(), sliceRows);
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    await orm.em.getConnection().execute('analyze "monitoring_samples"');
    progress(startedAt, `loaded ${total} host samples (${options.days} days) in ${round(loadSeconds, 1)} s`);
    const ctx = { now, intervalMs: 5_000, retentionHours: (options.days + 1) * 24 };
    const rollupOf = async (bucket: 'minute' | 'five-minute' | 'hour', spanMs: number) => {
      const times: number[] = [];
      let points = 0;
      for (let run = 0; run < 5; run++) {
        const fork = orm.em.fork();
        const scope = await resolveScope(fork, 'org-bench', { kind: 'server', serverId: 'srv-bench-rollup' });
        const t0 = performance.now();
        const result = await readRollup(
          fork,
          'org-bench',
          scope,
          { from: new Date(now.getTime() - spanMs), to: now },
          { bucket, signals: [...signals], includeDeploymentMarkers: true, includeTopContributors: true },
          ctx,
        );
        times.push(performance.now() - t0);
        points = result.series[0]?.points.length ?? 0;
      }
      return { points, ms: { best: round(Math.min(...times), 1), median: round(percentile(times, 50), 1) } };
    };
    report['rollup'] = {
      rows: total,
      loadRowsPerSecond: Math.round(total / loadSeconds),
      [`hour over ${options.days} days`]: await rollupOf('hour', options.days * 86_400_000),
      'five-minute over 1 day': await rollupOf('five-minute', 86_400_000),
      'minute over 1 hour': await rollupOf('minute', 3_600_000),
    };
    progress(startedAt, `rollups: ${JSON.stringify(report['rollup'])}`);
  } finally {
    await orm.close();
    await cluster.stop();
  }
  const text = JSON.stringify(report, null, 2);
  console.log(text);
  if (args.json) await writeFile(args.json, `${text}\n`);
}

await main();
