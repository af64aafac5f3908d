import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { knexOf } from '../../db/knex.js';
import { Deployment } from '../deployments/entity.js';
import type { ResolvedScope, ScopeView } from './scope.js';
import { amountColumns, type FigureRow, levelColumns, type Signal, signals, type Totals, totalsOf } from './totals.js';
import {
  asDate,
  asDateOrNull,
  freshnessOf,
  gapWarnings,
  type MonitoringWarning,
  type ReadContext,
  sampleExtent,
  staleAfterIntervals,
  type Window,
} from './window.js';

/** Rollup bucket sizes (seed `bucket`). */
export const buckets = { minute: 60, 'five-minute': 300, hour: 3600 } as const;
export type Bucket = keyof typeof buckets;
/** A series holds at most this many points; a longer window needs a bigger bucket. */
export const maxPoints = 1500;

const iso = (at: Date | null) => (at === null ? null : at.toISOString());

/** The parts of a samples or rollup answer every read shares: freshness, partial, retention, warnings. */
async function commonParts(em: EntityManager, scope: ResolvedScope, window: Window, ctx: ReadContext) {
  const extent = await sampleExtent(em, scope);
  const warnings = await gapWarnings(em, scope, window, extent, ctx);
  warnings.push(...(await dropWarnings(em, scope, window)));
  const retainedSince = new Date(ctx.now.getTime() - ctx.retentionHours * 3_600_000);
  return {
    freshness: freshnessOf(extent.newest, ctx),
    partial: warnings.length > 0,
    retention: {
      rawRetentionHours: ctx.retentionHours,
      retainedFrom: iso(extent.oldest === null ? null : extent.oldest > retainedSince ? extent.oldest : retainedSince),
      retainedTo: iso(extent.newest),
    },
    warnings,
    sourceErrors: [] as Array<{ source: string; code: string; message: string; retriable: boolean }>,
  };
}

/** Batches an agent's spool dropped (it was full while the link was down) during the window. */
async function dropWarnings(em: EntityManager, scope: ResolvedScope, window: Window): Promise<MonitoringWarning[]> {
  const serverId = scope.ids.serverId;
  if (serverId === undefined) return [];
  const result = (await knexOf(em).raw(
    `select "dropped_batches", "last_drop_at" from "telemetry_cursors" where "server_id" = ? and "channel" = ''`,
    [serverId],
  )) as { rows: Array<{ dropped_batches: string; last_drop_at: Date | null }> };
  const cursor = result.rows[0];
  const lastDropAt = asDateOrNull(cursor?.last_drop_at);
  if (!cursor || lastDropAt === null || Number(cursor.dropped_batches) === 0) return [];
  if (lastDropAt < window.from) return [];
  return [
    {
      code: 'samples-dropped',
      message: `The agent's spool was full while its link was down and dropped ${cursor.dropped_batches} batches (oldest first) in all; the latest drop was noticed at ${lastDropAt.toISOString()}.`,
      scope: scope.view,
    },
  ];
}

/** `GET /runtime-monitoring/samples`: the newest `limit` samples of the window, oldest first. */
export async function listSamples(
  em: EntityManager,
  scope: ResolvedScope,
  window: Window,
  wanted: readonly Signal[],
  limit: number,
  ctx: ReadContext,
) {
  const result = (await knexOf(em).raw(
    `select * from "monitoring_samples" where ${scope.where} and "observed_at" >= ? and "observed_at" <= ?
     order by "observed_at" desc, "id" desc limit ?`,
    [...scope.bindings, window.from, window.to, limit + 1],
  )) as { rows: FigureRow[] };
  const truncated = result.rows.length > limit;
  const rows = result.rows.slice(0, limit).reverse();
  const common = await commonParts(em, scope, window, ctx);
  if (truncated) {
    common.warnings.push({
      code: 'samples-truncated',
      message: `The window holds more than ${limit} samples; these are the newest ${limit}. Narrow the window or read the rollup.`,
      scope: scope.view,
    });
  }
  const lateMs = staleAfterIntervals * ctx.intervalMs;
  return {
    schemaVersion: 'runtime-monitoring.samples.list/v1' as const,
    scope: scope.view,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    generatedAt: ctx.now.toISOString(),
    ...common,
    partial: common.partial || truncated,
    samples: rows.map((row) => {
      const observedAt = asDate(row['observed_at']);
      const collectedAt = asDate(row['collected_at']);
      const isHost = row['kind'] === 'host';
      const evidence: ScopeView = isHost
        ? { kind: 'server', serverId: row['server_id'] as string }
        : row['deployment_id']
          ? { kind: 'deployment', deploymentId: row['deployment_id'] as string }
          : { kind: 'resource', resourceId: row['resource_id'] as string };
      return {
        sampleId: `sample_${row['id']}`,
        observedAt: observedAt.toISOString(),
        collectedAt: collectedAt.toISOString(),
        scopeEvidence: {
          scope: evidence,
          serverId: row['server_id'] as string,
          projectId: (row['project_id'] as string | null) ?? null,
          environmentId: (row['environment_id'] as string | null) ?? null,
          resourceId: (row['resource_id'] as string | null) ?? null,
          deploymentId: (row['deployment_id'] as string | null) ?? null,
        },
        totals: totalsOf(row, wanted),
        // A sample that reached the control plane late (spooled while the link was down) is marked stale.
        freshness: collectedAt.getTime() - observedAt.getTime() > lateMs ? ('stale' as const) : ('live' as const),
        partial: false,
        labels: {
          providerKey: 'berth-agent',
          artifactKind: isHost ? 'server' : 'active-runtime',
          runtimeId: (row['runtime_id'] as string | null) ?? null,
        },
        warnings: [],
        sourceErrors: [],
      };
    }),
  };
}

const levelSql = (prefix: string) => levelColumns.map((c) => `avg(${prefix}"${c}") as "${c}"`).join(', ');
const amountSql = (prefix: string) => amountColumns.map((c) => `sum(${prefix}"${c}") as "${c}"`).join(', ');

/**
 * Buckets of the window: a server's host samples are averaged per bucket (levels) or summed (network bytes); a
 * container scope averages each container per bucket and adds the containers up, so a resource with three
 * replicas shows their sum.
 */
async function bucketRows(em: EntityManager, scope: ResolvedScope, window: Window, bucketSeconds: number) {
  const bin = `date_bin(make_interval(secs => ?), "observed_at", timestamptz '2000-01-01T00:00:00Z')`;
  const range = `${scope.where} and "observed_at" >= ? and "observed_at" < ?`;
  const bindings = [bucketSeconds, ...scope.bindings, window.from, window.to];
  const sql =
    scope.sampleKind === 'host'
      ? `select ${bin} as "bucket", count(*) as "sample_count", ${levelSql('')}, ${amountSql('')}
         from "monitoring_samples" where ${range} group by 1 order by 1`
      : `select "bucket", sum("sample_count") as "sample_count",
           ${levelColumns.map((c) => `sum("${c}") as "${c}"`).join(', ')}, ${amountColumns.map((c) => `sum("${c}") as "${c}"`).join(', ')}
         from (select ${bin} as "bucket", "runtime_id", count(*) as "sample_count", ${levelSql('')}, ${amountSql('')}
               from "monitoring_samples" where ${range} group by 1, 2) as "per_runtime"
         group by 1 order by 1`;
  const result = (await knexOf(em).raw(sql, bindings)) as { rows: FigureRow[] };
  return result.rows;
}

/** The whole window from its buckets: levels weighted by each bucket's samples, amounts added up. */
function windowTotals(rows: FigureRow[]): FigureRow {
  const total: FigureRow = {};
  const weight = rows.reduce((sum, row) => sum + Number(row['sample_count']), 0);
  for (const column of levelColumns) {
    let sum = 0;
    let counted = 0;
    for (const row of rows) {
      if (row[column] === null || row[column] === undefined) continue;
      sum += Number(row[column]) * Number(row['sample_count']);
      counted += Number(row['sample_count']);
    }
    total[column] = counted === 0 ? null : sum / counted;
  }
  for (const column of amountColumns) {
    const present = rows.filter((row) => row[column] !== null && row[column] !== undefined);
    total[column] = present.length === 0 ? null : present.reduce((sum, row) => sum + Number(row[column]), 0);
  }
  total['sample_count'] = weight;
  return total;
}

/** Who used the most inside the scope: resources of a server, project or environment; deployments of a resource. */
async function topContributors(em: EntityManager, scope: ResolvedScope, window: Window, wanted: readonly Signal[]) {
  const by =
    scope.view.kind === 'resource' ? 'deployment_id' : scope.view.kind === 'deployment' ? undefined : 'resource_id';
  if (by === undefined) return [];
  const where = scope.sampleKind === 'host' ? `"kind" = 'container' and "server_id" = ?` : scope.where;
  const bindings = scope.sampleKind === 'host' ? [scope.ids.serverId ?? ''] : scope.bindings;
  const result = (await knexOf(em).raw(
    `select "${by}" as "key", count(*) as "sample_count", ${levelSql('')}, ${amountSql('')},
       case when count(distinct "server_id") = 1 then min("server_id") end as "only_server_id"
     from "monitoring_samples" where ${where} and "${by}" is not null and "observed_at" >= ? and "observed_at" < ?
     group by 1 order by avg("container_cpu_percent") desc nulls last limit 5`,
    [...bindings, window.from, window.to],
  )) as { rows: FigureRow[] };
  return result.rows.map((row) => ({
    // The server it ran on, when all its samples in the window came from one.
    scope: {
      ...(by === 'resource_id'
        ? { kind: 'resource' as const, resourceId: row['key'] as string }
        : { kind: 'deployment' as const, deploymentId: row['key'] as string }),
      ...(row['only_server_id'] ? { serverId: row['only_server_id'] as string } : {}),
    },
    totals: totalsOf(row, wanted),
    sampleCount: Number(row['sample_count']),
  }));
}

/** Deployments of the scope that were created or finished inside the window, as time markers (no causal claim). */
async function deploymentMarkers(em: EntityManager, organizationId: string, scope: ResolvedScope, window: Window) {
  const where: Record<string, unknown> = { organization: organizationId };
  const ids = scope.ids;
  if (scope.view.kind === 'server') where['server'] = ids.serverId;
  else if (scope.view.kind === 'project') where['project'] = ids.projectId;
  else if (scope.view.kind === 'environment') where['environment'] = ids.environmentId;
  else if (scope.view.kind === 'resource') where['resource'] = ids.resourceId;
  else where['id'] = ids.deploymentId;
  const inWindow = { $gte: window.from, $lte: window.to };
  const found = await em.find(
    Deployment,
    { ...where, $or: [{ createdAt: inWindow }, { finishedAt: inWindow }] },
    {
      orderBy: { createdAt: 'asc' },
      limit: 200,
      fields: ['id', 'resource', 'environment', 'status', 'createdAt', 'finishedAt'],
    },
  );
  return found.map((d) => {
    const finishedAt = d.finishedAt ?? null;
    const finished = finishedAt !== null && finishedAt <= window.to;
    const at = finished ? finishedAt : d.createdAt;
    return {
      deploymentId: d.id,
      resourceId: d.resource.id,
      environmentId: d.environment.id,
      observedAt: at.toISOString(),
      status: d.status,
      label: finished ? `Deployment ${d.status}` : 'Deployment started',
      correlation: 'time' as const,
    };
  });
}

/** Options of {@link readRollup}. */
export interface RollupOptions {
  bucket: Bucket;
  signals: readonly Signal[];
  includeDeploymentMarkers: boolean;
  includeTopContributors: boolean;
}

/** `GET /runtime-monitoring/rollup`: one series per signal, buckets computed in SQL. */
export async function readRollup(
  em: EntityManager,
  organizationId: string,
  scope: ResolvedScope,
  window: Window,
  options: RollupOptions,
  ctx: ReadContext,
) {
  const bucketSeconds = buckets[options.bucket];
  const points = Math.ceil((window.to.getTime() - window.from.getTime()) / 1000 / bucketSeconds);
  if (points > maxPoints) {
    throw new AppError(
      'validation_failed',
      `The window holds ${points} ${options.bucket} buckets; at most ${maxPoints} are returned.`,
      {
        field: 'bucket',
        hint:
          options.bucket === 'hour'
            ? 'Narrow the window.'
            : 'Ask for a bigger bucket (five-minute or hour) or narrow the window.',
      },
    );
  }
  const rows = await bucketRows(em, scope, window, bucketSeconds);
  const common = await commonParts(em, scope, window, ctx);
  // Every series shares its buckets: each point carries the totals of all signals asked for (the seed's shape).
  const bucketPoints = rows.map((row) => {
    const from = asDate(row['bucket']);
    return {
      from: from.toISOString(),
      to: new Date(from.getTime() + bucketSeconds * 1000).toISOString(),
      sampleCount: Number(row['sample_count']),
      totals: totalsOf(row, options.signals) as Totals,
    };
  });
  const series = options.signals.map((signal) => ({ signal, points: bucketPoints }));
  return {
    schemaVersion: 'runtime-monitoring.rollup/v1' as const,
    scope: scope.view,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    bucket: options.bucket,
    generatedAt: ctx.now.toISOString(),
    ...common,
    series,
    totals: totalsOf(windowTotals(rows), options.signals),
    topContributors: options.includeTopContributors ? await topContributors(em, scope, window, options.signals) : [],
    deploymentMarkers: options.includeDeploymentMarkers
      ? await deploymentMarkers(em, organizationId, scope, window)
      : [],
  };
}

/**
 * The scope's figures now: its samples of the last sample interval and a half before its newest one (one reading
 * per container, or the host's latest), added up as a rollup bucket would be. Null figures when it has no samples.
 */
export async function currentTotals(em: EntityManager, scope: ResolvedScope, ctx: ReadContext) {
  const { newest } = await sampleExtent(em, scope);
  if (newest === null) return { newest, totals: totalsOf({}, signals), sampleCount: 0 };
  const window = { from: new Date(newest.getTime() - ctx.intervalMs * 1.5), to: new Date(newest.getTime() + 1) };
  const seconds = Math.max(1, Math.ceil((window.to.getTime() - window.from.getTime()) / 1000) + 1);
  const row = windowTotals(await bucketRows(em, scope, window, seconds));
  return { newest, totals: totalsOf(row, signals), sampleCount: Number(row['sample_count']) };
}
