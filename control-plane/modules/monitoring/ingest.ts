import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TelemetryBatch } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import type { TelemetrySink } from '../../agent-gateway/telemetry-stream.js';
import { knexOf } from '../../db/knex.js';

/** One row of `monitoring_samples`, in column order (see {@link sampleColumns}). */
type Row = unknown[];

/** Columns written by the ingest, with their PostgreSQL array types for `unnest`. */
export const sampleColumns = [
  ['server_id', 'text'],
  ['kind', 'text'],
  ['observed_at', 'timestamptz'],
  ['collected_at', 'timestamptz'],
  ['project_id', 'text'],
  ['environment_id', 'text'],
  ['resource_id', 'text'],
  ['deployment_id', 'text'],
  ['runtime_id', 'text'],
  ['logical_cores', 'int'],
  ['load_average1m', 'float8'],
  ['load_average5m', 'float8'],
  ['load_average15m', 'float8'],
  ['cpu_percent', 'float8'],
  ['container_cpu_percent', 'float8'],
  ['memory_total_bytes', 'int8'],
  ['memory_used_bytes', 'int8'],
  ['memory_available_bytes', 'int8'],
  ['container_memory_bytes', 'int8'],
  ['disk_total_bytes', 'int8'],
  ['disk_used_bytes', 'int8'],
  ['disk_available_bytes', 'int8'],
  ['disk_attributed_bytes', 'int8'],
  ['inode_total', 'int8'],
  ['inode_used', 'int8'],
  ['inode_available', 'int8'],
  ['docker_image_bytes', 'int8'],
  ['docker_build_cache_bytes', 'int8'],
  ['docker_writable_bytes', 'int8'],
  ['network_rx_bytes', 'int8'],
  ['network_tx_bytes', 'int8'],
  ['disks', 'jsonb'],
] as const;

/** Called after a batch is stored, with the servers and times it covered (threshold evaluation). */
export type AfterStore = (
  em: EntityManager,
  serverId: string,
  newestObservedAt: Date,
  batch: TelemetryBatch,
) => Promise<void>;

/** Turns a batch into rows: one per host sample and one per container sample. */
export function batchRows(serverId: string, batch: TelemetryBatch, receivedAt: Date): Row[] {
  const rows: Row[] = [];
  const n = (value: bigint) => Number(value);
  const blank = (text: string) => (text === '' ? null : text);
  for (const host of batch.hosts) {
    if (!host.observedAt) continue;
    const sum = (pick: (d: (typeof host.disks)[number]) => bigint) =>
      host.disks.reduce((total, disk) => total + n(pick(disk)), 0);
    rows.push([
      serverId,
      'host',
      timestampDate(host.observedAt),
      receivedAt,
      null,
      null,
      null,
      null,
      null,
      host.logicalCores,
      host.loadAverage1m,
      host.loadAverage5m,
      host.loadAverage15m,
      host.cpuPercent,
      host.containerCpuPercent,
      n(host.memoryTotalBytes),
      n(host.memoryUsedBytes),
      n(host.memoryAvailableBytes),
      n(host.containerMemoryBytes),
      sum((d) => d.totalBytes),
      sum((d) => d.usedBytes),
      sum((d) => d.availableBytes),
      n(host.dockerWritableBytes),
      sum((d) => d.inodesTotal),
      sum((d) => d.inodesUsed),
      sum((d) => d.inodesAvailable),
      n(host.dockerImageBytes),
      n(host.dockerBuildCacheBytes),
      n(host.dockerWritableBytes),
      n(host.networkRxBytes),
      n(host.networkTxBytes),
      host.disks.map((d) => ({
        mount: d.mount,
        filesystem: d.filesystem,
        totalBytes: n(d.totalBytes),
        usedBytes: n(d.usedBytes),
        availableBytes: n(d.availableBytes),
        inodesTotal: n(d.inodesTotal),
        inodesUsed: n(d.inodesUsed),
        inodesAvailable: n(d.inodesAvailable),
      })),
    ]);
  }
  for (const c of batch.containers) {
    if (!c.observedAt) continue;
    rows.push([
      serverId,
      'container',
      timestampDate(c.observedAt),
      receivedAt,
      blank(c.projectId),
      blank(c.environmentId),
      blank(c.resourceId),
      blank(c.deploymentId),
      blank(c.containerId),
      null,
      null,
      null,
      null,
      null,
      c.cpuPercent,
      n(c.memoryLimitBytes) || null,
      null,
      null,
      n(c.memoryUsedBytes),
      null,
      null,
      null,
      n(c.writableBytes),
      null,
      null,
      null,
      null,
      null,
      n(c.writableBytes),
      n(c.networkRxBytes),
      n(c.networkTxBytes),
      null,
    ]);
  }
  return rows;
}

/**
 * Inserts rows in one statement with one parameter: the rows as a JSON array, expanded by PostgreSQL's
 * `json_populate_recordset` into the table's own row type (no per-row parameters, no parameter limit).
 */
export async function insertSamples(em: EntityManager, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const objects = rows.map((row) => {
    const object: Record<string, unknown> = {};
    sampleColumns.forEach(([name], index) => {
      object[name] = row[index];
    });
    return object;
  });
  const names = sampleColumns.map(([name]) => `"${name}"`).join(', ');
  await knexOf(em).raw(
    `insert into "monitoring_samples" (${names}) select ${names} from json_populate_recordset(null::"monitoring_samples", ?::json)`,
    [JSON.stringify(objects)],
  );
}

/** Stores a batch's runtime log lines, inside the batch's transaction (the runtime-logs module). */
export type LogLineStore = (
  tx: EntityManager,
  serverId: string,
  lines: TelemetryBatch['logLines'],
  receivedAt: Date,
) => Promise<void>;

/**
 * The gateway's telemetry sink: stores a batch's samples and moves the server's cursor in one transaction, so
 * a batch is stored once or not at all. A batch already stored (same spool, seq not above the cursor) is only
 * acknowledged again; a seq that jumps counts the batches in between as dropped by the agent's spool.
 */
export function createTelemetryIngest(deps: { afterStore?: AfterStore; storeLogLines?: LogLineStore }): TelemetrySink {
  return {
    async storeBatch(em, serverId, batch, receivedAt) {
      const rows = batchRows(serverId, batch, receivedAt);
      const newest = rows.reduce<Date | null>((max, row) => {
        const at = row[2] as Date;
        return max === null || at > max ? at : max;
      }, null);
      const stored = await em.transactional(async (tx) => {
        const knex = knexOf(tx);
        const found = (await knex.raw(
          'select "spool_id", "last_batch_seq", "dropped_batches" from "telemetry_cursors" where "server_id" = ? and "channel" = ? for update',
          [serverId, batch.channel],
        )) as { rows: Array<{ spool_id: string; last_batch_seq: string; dropped_batches: string }> };
        const cursor = found.rows[0];
        const sameSpool = cursor?.spool_id === batch.spoolId;
        const last = sameSpool ? BigInt(cursor!.last_batch_seq) : 0n;
        if (sameSpool && batch.batchSeq <= last) return false;
        const gap = Number(batch.batchSeq - last - 1n);
        await insertSamples(tx, rows);
        if (batch.logLines.length > 0) await deps.storeLogLines?.(tx, serverId, batch.logLines, receivedAt);
        await knex.raw(
          `insert into "telemetry_cursors" ("server_id", "channel", "spool_id", "last_batch_seq", "dropped_batches", "last_drop_at", "newest_observed_at", "received_at")
           values (?, ?, ?, ?, ?, ?, ?, ?)
           on conflict ("server_id", "channel") do update set
             "spool_id" = excluded."spool_id",
             "last_batch_seq" = excluded."last_batch_seq",
             "dropped_batches" = "telemetry_cursors"."dropped_batches" + ?,
             "last_drop_at" = coalesce(excluded."last_drop_at", "telemetry_cursors"."last_drop_at"),
             "newest_observed_at" = greatest("telemetry_cursors"."newest_observed_at", excluded."newest_observed_at"),
             "received_at" = excluded."received_at"`,
          [
            serverId,
            batch.channel,
            batch.spoolId,
            batch.batchSeq.toString(),
            gap,
            gap > 0 ? receivedAt : null,
            newest,
            receivedAt,
            gap,
          ],
        );
        return true;
      });
      if (stored && newest !== null) await deps.afterStore?.(em, serverId, newest, batch);
    },
  };
}
