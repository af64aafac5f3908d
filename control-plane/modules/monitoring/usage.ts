import type { EntityManager } from '@mikro-orm/postgresql';
import { knexOf } from '../../db/knex.js';
import { currentTotals } from './reads.js';
import type { ResolvedScope, ScopeKind, ScopeView } from './scope.js';
import { type FigureRow, signals, type Totals, totalsOf } from './totals.js';
import { asDate, freshnessOf, type ReadContext, sampleExtent } from './window.js';

type Group = 'project' | 'environment' | 'resource' | 'deployment';
const groups: Group[] = ['project', 'environment', 'resource', 'deployment'];

/** The container figures of several readings added up; what containers do not measure stays null. */
function sumTotals(rows: FigureRow[]): Totals {
  const each = rows.map((row) => totalsOf(row, signals));
  const add = (pick: (t: Totals) => number | null | undefined) => {
    const present = each.map(pick).filter((v): v is number => typeof v === 'number');
    return present.length === 0 ? null : Math.round(present.reduce((a, b) => a + b, 0) * 1000) / 1000;
  };
  return {
    cpu: {
      logicalCores: null,
      loadAverage1m: null,
      loadAverage5m: null,
      loadAverage15m: null,
      containerCpuPercent: add((t) => t.cpu?.containerCpuPercent),
      usagePercent: null,
    },
    memory: {
      totalBytes: null,
      usedBytes: null,
      availableBytes: null,
      containerUsedBytes: add((t) => t.memory?.containerUsedBytes),
    },
    disk: {
      totalBytes: null,
      usedBytes: null,
      availableBytes: null,
      attributedBytes: add((t) => t.disk?.attributedBytes),
    },
    inode: { total: null, used: null, available: null },
    docker: {
      imageBytes: null,
      buildCacheBytes: null,
      containerWritableBytes: add((t) => t.docker?.containerWritableBytes),
    },
    network: { rxBytes: add((t) => t.network?.rxBytes), txBytes: add((t) => t.network?.txBytes) },
  };
}

/**
 * `GET /runtime-usage/inspect` (mode `current`): what the scope uses now, from each Berth container's newest sample
 * (within a sample interval and a half of the scope's newest), broken down by project, environment, resource and
 * deployment, with every running container as an `active-runtime` artifact attributed by Berth's labels.
 */
export async function inspectUsage(
  em: EntityManager,
  scope: ResolvedScope,
  ctx: ReadContext,
  options: { includeArtifacts: boolean; includeWarnings: boolean },
) {
  // A server's usage is its host samples for the totals and its containers for the breakdown.
  const containerWhere = scope.sampleKind === 'host' ? `"kind" = 'container' and "server_id" = ?` : scope.where;
  const containerBindings = scope.sampleKind === 'host' ? [scope.ids.serverId ?? ''] : scope.bindings;
  const containerScope: ResolvedScope = {
    ...scope,
    sampleKind: 'container',
    where: containerWhere,
    bindings: containerBindings,
  };
  const [current, extent] = await Promise.all([currentTotals(em, scope, ctx), sampleExtent(em, containerScope)]);
  let rows: FigureRow[] = [];
  if (extent.newest !== null) {
    const result = (await knexOf(em).raw(
      `select distinct on ("runtime_id") * from "monitoring_samples"
       where ${containerWhere} and "observed_at" >= ? order by "runtime_id", "observed_at" desc`,
      [...containerBindings, new Date(extent.newest.getTime() - ctx.intervalMs * 1.5)],
    )) as { rows: FigureRow[] };
    rows = result.rows;
  }
  const newest = current.newest;
  const freshness = newest === null ? 'stale' : freshnessOf(newest, ctx);
  const warnings: Array<{ code: string; message: string; scope: ScopeView; resource: string }> = [];
  if (newest === null) {
    warnings.push({
      code: 'partial-diagnostic',
      message: 'No monitoring sample of this scope has arrived yet: is its agent connected?',
      scope: scope.view,
      resource: 'cpu',
    });
  } else if (freshness === 'stale') {
    warnings.push({
      code: 'partial-diagnostic',
      message: `The newest sample is from ${newest.toISOString()}: the agent has not reported for more than three intervals.`,
      scope: scope.view,
      resource: 'cpu',
    });
  }
  const breakdown = (group: Group) => {
    const column = `${group}_id`;
    const byKey = new Map<string, FigureRow[]>();
    for (const row of rows) {
      const key = row[column] as string | null;
      if (key) byKey.set(key, [...(byKey.get(key) ?? []), row]);
    }
    return [...byKey].map(([id, members]) => {
      const newestRow = members.reduce((a, b) => (asDate(a['observed_at']) >= asDate(b['observed_at']) ? a : b));
      const servers = new Set(members.map((m) => m['server_id'] as string));
      return {
        // With the server it runs on, when it runs on one.
        scope: {
          kind: group as ScopeKind,
          [`${group}Id`]: id,
          ...(servers.size === 1 ? { serverId: [...servers][0] } : {}),
        } as ScopeView,
        ownership: 'attributed' as const,
        totals: sumTotals(members),
        currentDeploymentId: (newestRow['deployment_id'] as string | null) ?? null,
        currentRuntimeId: (newestRow['runtime_id'] as string | null) ?? null,
        artifactCount: members.length,
        warnings: [],
      };
    });
  };
  const [byProject, byEnvironment, byResource, byDeployment] = groups.map(breakdown);
  return {
    schemaVersion: 'runtime-usage.inspect/v1' as const,
    scope: scope.view,
    generatedAt: ctx.now.toISOString(),
    observedAt: newest?.toISOString() ?? null,
    freshness,
    partial: newest === null || freshness === 'stale',
    totals: scope.sampleKind === 'host' ? current.totals : sumTotals(rows),
    byProject,
    byEnvironment,
    byResource,
    byDeployment,
    artifacts: options.includeArtifacts
      ? rows.map((row) => ({
          kind: 'active-runtime' as const,
          ownership: 'attributed' as const,
          serverId: row['server_id'] as string,
          projectId: (row['project_id'] as string | null) ?? null,
          environmentId: (row['environment_id'] as string | null) ?? null,
          resourceId: (row['resource_id'] as string | null) ?? null,
          deploymentId: (row['deployment_id'] as string | null) ?? null,
          destinationId: row['server_id'] as string,
          runtimeId: (row['runtime_id'] as string | null) ?? null,
          bytes: Number(row['docker_writable_bytes'] ?? 0),
          inodeCount: null,
          observedAt: asDate(row['observed_at']).toISOString(),
          evidence: [
            { source: 'label', key: 'berth.managed' },
            { source: 'label', key: 'berth.deployment' },
          ],
          reclaimable: 'no' as const,
          reclaimBlockedReason: 'active-runtime',
          warnings: [],
        }))
      : [],
    warnings: options.includeWarnings ? warnings : [],
    sourceErrors: [],
  };
}
