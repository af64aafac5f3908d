import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import cron, { type ScheduledTask } from 'node-cron';
import { defaultPruneCategories, type PruneCategory } from '../../../shared/capacity-command.js';
import { notFound } from '../../../shared/errors.js';
import type { TelemetryBatch } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { Caller } from '../identity/auth-context.js';
import { Server } from '../servers/entity.js';
import type { ServerService } from '../servers/service.js';
import { PrunePolicy, type PrunePolicyScope, type PruneRunRecord, prunePolicyScopes } from './entity.js';
import type { CapacityService } from './service.js';

/** `POST /servers/capacity/policies`. */
export interface ConfigurePolicyInput {
  scope: PrunePolicyScope;
  retentionDays: number;
  serverId?: string | undefined;
  destructive?: boolean | undefined;
  categories?: PruneCategory[] | undefined;
  retryOnFailure?: boolean | undefined;
  enabled?: boolean | undefined;
}

/** Runs of one policy kept on it, newest first. */
const keptRuns = 20;
/** A disk that stays full triggers at most one prune per server in this long. */
const diskTriggerQuietMs = 15 * 60_000;

function policyView(policy: PrunePolicy) {
  return {
    schemaVersion: 'scheduled-runtime-prune-policies.policy/v1' as const,
    id: policy.id,
    version: String(policy.revision),
    scope: policy.scope,
    serverId: policy.serverId ?? null,
    retentionDays: policy.retentionDays,
    destructive: policy.destructive,
    categories: policy.categories,
    categoryCount: policy.categories.length,
    retryOnFailure: policy.retryOnFailure,
    enabled: policy.enabled,
    updatedAt: policy.updatedAt.toISOString(),
    lastRuns: policy.lastRuns,
  };
}

/** The policy that governs `server`: one for that server first, then the most specific organization-wide scope. */
export function governingPolicy(policies: PrunePolicy[], serverId: string): PrunePolicy | undefined {
  const rank = (p: PrunePolicy) => (p.serverId === serverId ? 100 : 0) + prunePolicyScopes.indexOf(p.scope);
  return policies
    .filter((p) => p.enabled && (p.serverId === null || p.serverId === serverId))
    .sort((a, b) => rank(b) - rank(a))[0];
}

/** Capacity policies (3 seed operations), the hourly schedule and the disk-threshold trigger that run them. */
export function createPrunePolicies(deps: {
  now: Clock;
  log: Logger;
  capacity: Pick<CapacityService, 'pruneServer'>;
  servers: Pick<ServerService, 'load'>;
  /** A host sample with a disk at least this full runs the server's policy (BERTH_CAPACITY_PRUNE_DISK_PERCENT). */
  diskPercent: number;
}) {
  const { now, log, capacity } = deps;
  let job: ScheduledTask | undefined;
  let orm: MikroORM | undefined;
  const inFlight = new Set<Promise<void>>();
  const lastDiskTrigger = new Map<string, number>();

  async function runOn(serverId: string, trigger: PruneRunRecord['trigger']): Promise<void> {
    if (orm === undefined) return;
    const em = orm.em.fork();
    const server = await em.findOne(Server, serverId);
    if (server === null || server.lifecycleStatus !== 'active' || server.connectionState !== 'connected') return;
    const policy = governingPolicy(await em.find(PrunePolicy, { organization: server.organization.id }), serverId);
    if (policy === undefined) return;
    const before = new Date(now().getTime() - policy.retentionDays * 86_400_000).toISOString();
    const input = { before, categories: policy.categories, dryRun: !policy.destructive };
    const attempt = async (): Promise<PruneRunRecord> => {
      const at = now().toISOString();
      try {
        const result = await capacity.pruneServer(em.fork(), server, input);
        return {
          serverId,
          trigger,
          at,
          dryRun: input.dryRun,
          ok: true,
          matchedCount: result.summary.matchedCount,
          prunedCount: result.summary.prunedCount,
          reclaimedBytes: result.summary.reclaimedBytes,
          error: null,
        };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.warn({ err: error, serverId, policyId: policy.id, trigger }, 'scheduled capacity prune failed');
        return {
          serverId,
          trigger,
          at,
          dryRun: input.dryRun,
          ok: false,
          matchedCount: 0,
          prunedCount: 0,
          reclaimedBytes: 0,
          error: message,
        };
      }
    };
    let record = await attempt();
    if (!record.ok && policy.retryOnFailure) record = await attempt();
    policy.lastRuns = [record, ...policy.lastRuns].slice(0, keptRuns);
    await em.flush();
  }

  function track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => log.error({ err: error }, 'capacity policy run failed'));
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  }

  async function runAll(): Promise<void> {
    if (orm === undefined) return;
    const em = orm.em.fork();
    const policies = await em.find(PrunePolicy, { enabled: true });
    const organizations = [...new Set(policies.map((p) => p.organization.id))];
    const servers = await em.find(
      Server,
      { organization: { $in: organizations }, lifecycleStatus: 'active', connectionState: 'connected' },
      { fields: ['id'] },
    );
    for (const server of servers) await runOn(server.id, 'schedule');
  }

  return {
    async list(
      em: EntityManager,
      auth: Caller,
      query: { serverId?: string; scope?: PrunePolicyScope; enabledOnly?: boolean },
    ) {
      const where: Record<string, unknown> = { organization: auth.organizationId };
      if (query.serverId !== undefined) where['serverId'] = query.serverId;
      if (query.scope !== undefined) where['scope'] = query.scope;
      if (query.enabledOnly) where['enabled'] = true;
      const items = await em.find(PrunePolicy, where, { orderBy: { updatedAt: 'desc', id: 'asc' } });
      return { schemaVersion: 'scheduled-runtime-prune-policies.list/v1' as const, items: items.map(policyView) };
    },

    async show(em: EntityManager, auth: Caller, policyId: string) {
      const policy = await em.findOne(PrunePolicy, { id: policyId, organization: auth.organizationId });
      if (policy === null) throw notFound('Capacity policy', policyId, 'policyId');
      return { schemaVersion: 'scheduled-runtime-prune-policies.show/v1' as const, policy: policyView(policy) };
    },

    async configure(em: EntityManager, auth: Caller, input: ConfigurePolicyInput) {
      if (input.serverId !== undefined) await deps.servers.load(em, auth, input.serverId);
      const serverId = input.serverId ?? null;
      const at = now();
      let policy = await em.findOne(PrunePolicy, { organization: auth.organizationId, scope: input.scope, serverId });
      if (policy === null) {
        policy = em.create(PrunePolicy, {
          id: newId('prunePolicy', at.getTime()),
          organization: auth.organizationId,
          scope: input.scope,
          serverId,
          retentionDays: input.retentionDays,
          // Safe by default: a policy only lists until it is told to remove.
          destructive: input.destructive ?? false,
          categories: input.categories ?? [...defaultPruneCategories],
          retryOnFailure: input.retryOnFailure ?? true,
          enabled: input.enabled ?? true,
          revision: 1,
          updatedAt: at,
          lastRuns: [],
        });
      } else {
        policy.retentionDays = input.retentionDays;
        if (input.destructive !== undefined) policy.destructive = input.destructive;
        if (input.categories !== undefined) policy.categories = input.categories;
        if (input.retryOnFailure !== undefined) policy.retryOnFailure = input.retryOnFailure;
        if (input.enabled !== undefined) policy.enabled = input.enabled;
        policy.revision += 1;
        policy.updatedAt = at;
      }
      await em.flush();
      return { id: policy.id };
    },

    /**
     * A stored batch: a disk at least `diskPercent` full in its newest host sample runs the server's policy (not
     * awaited). Read from the batch itself: this runs for every batch of every server.
     */
    onBatch(serverId: string, batch: TelemetryBatch): void {
      const last = lastDiskTrigger.get(serverId) ?? 0;
      if (now().getTime() - last < diskTriggerQuietMs) return;
      const fullest = fullestDiskPercent(batch);
      if (fullest === null || fullest < deps.diskPercent) return;
      lastDiskTrigger.set(serverId, now().getTime());
      log.warn({ serverId, usePercent: fullest }, 'a disk crossed the capacity prune threshold');
      track(runOn(serverId, 'disk-threshold'));
    },

    /** Starts the hourly schedule. */
    start(started: MikroORM) {
      orm = started;
      job ??= cron.schedule('17 * * * *', () => track(runAll()), { name: 'capacity-prune', noOverlap: true });
    },

    /** Runs every server's policy now (what the schedule does each hour). */
    runAll,

    async stop() {
      await job?.destroy();
      job = undefined;
      await Promise.all(inFlight);
    },
  };
}
export type PrunePolicies = ReturnType<typeof createPrunePolicies>;

/** The use percent of the fullest disk in the batch's newest host sample, or null without one. */
export function fullestDiskPercent(batch: TelemetryBatch): number | null {
  const newest = batch.hosts.at(-1);
  let fullest: number | null = null;
  for (const disk of newest?.disks ?? []) {
    const used = Number(disk.usedBytes);
    const available = Number(disk.availableBytes);
    if (used + available <= 0) continue;
    fullest = Math.max(fullest ?? 0, (used / (used + available)) * 100);
  }
  return fullest;
}
