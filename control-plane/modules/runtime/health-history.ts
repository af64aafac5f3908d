import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import { Deployment } from '../deployments/entity.js';
import type { AuthContext, Caller } from '../identity/auth-context.js';
import type { RetentionService } from '../monitoring/retention.js';
import type { ResourceService } from '../resources/service.js';
import { Server } from '../servers/entity.js';
import { HealthObservation } from './entity.js';
import type { createResourceHealth } from './health.js';

type HealthSummary = Awaited<ReturnType<ReturnType<typeof createResourceHealth>>>;

/** The longest window a history read covers (the seed's 14 days). */
const maxWindowMs = 14 * 86_400_000;

/**
 * Health history: every `intervalSeconds` the health of each deployed resource on a connected server is read live
 * (the agent probes it, as `GET /resources/{id}/health` does) and stored, as is every live health read a person
 * makes. `GET /resources/{id}/health-history` lists them newest first.
 */
export function createHealthHistory(deps: {
  now: Clock;
  log: Logger;
  health: ReturnType<typeof createResourceHealth>;
  resources: Pick<ResourceService, 'load'>;
  retention: Pick<RetentionService, 'effective'>;
  intervalSeconds: number;
}) {
  const { now, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let orm: MikroORM | undefined;

  async function record(em: EntityManager, organizationId: string, summary: HealthSummary): Promise<void> {
    em.create(HealthObservation, {
      organizationId,
      resourceId: summary.resourceId,
      observedAt: new Date(summary.observedAt),
      overall: summary.overall,
      runtimeLifecycle: summary.runtime.lifecycle,
      runtimeHealth: summary.runtime.health,
      publicAccessStatus: summary.publicAccess.status,
      proxyStatus: summary.proxy.status,
      healthPolicyStatus: summary.healthPolicy.status,
      latestDeploymentId: summary.latestDeployment?.id ?? null,
      summary: summary as unknown as Record<string, unknown>,
    });
    await em.flush();
  }

  /** One round: each resource whose current deployment runs on a connected server. */
  async function observeAll(): Promise<void> {
    if (orm === undefined) return;
    const em = orm.em.fork();
    const connected = await em.find(
      Server,
      { connectionState: 'connected', lifecycleStatus: 'active' },
      { fields: ['id'] },
    );
    if (connected.length === 0) return;
    const current = await em.find(
      Deployment,
      { server: { $in: connected.map((s) => s.id) }, status: 'succeeded' },
      { fields: ['resource', 'organization'], orderBy: { finishedAt: 'desc' } },
    );
    const seen = new Set<string>();
    for (const d of current) {
      if (seen.has(d.resource.id)) continue;
      seen.add(d.resource.id);
      // The job acts for the organization that owns the resource, as its owner would.
      const caller: AuthContext = {
        kind: 'user',
        userId: 'system:health-history',
        sessionId: 'health-history',
        organizationId: d.organization.id,
        role: 'owner',
      };
      try {
        const fork = em.fork();
        await record(fork, caller.organizationId, await deps.health(fork, caller, d.resource.id));
      } catch (error) {
        log.warn({ err: error, resourceId: d.resource.id }, 'health history: could not observe a resource');
      }
    }
    // Kept as long as monitoring samples.
    for (const organizationId of new Set(current.map((d) => d.organization.id))) {
      const { days, destructive } = await deps.retention.effective(em, organizationId, 'runtime-monitoring-samples');
      if (!destructive) continue;
      await em.nativeDelete(HealthObservation, {
        organizationId,
        observedAt: { $lt: new Date(now().getTime() - days * 86_400_000) },
      });
    }
  }

  return {
    /** A live health read, recorded as an observation on its way out. */
    async readAndRecord(em: EntityManager, caller: Caller, resourceId: string) {
      const summary = await deps.health(em, caller, resourceId);
      await record(em.fork(), caller.organizationId, summary).catch((error: unknown) =>
        log.warn({ err: error, resourceId }, 'health history: could not record a live read'),
      );
      return summary;
    },

    async list(
      em: EntityManager,
      caller: Caller,
      resourceId: string,
      query: { from?: string | undefined; to?: string | undefined; limit?: number | undefined },
    ) {
      await deps.resources.load(em, caller, resourceId);
      const to = query.to ? new Date(query.to) : now();
      const from = query.from ? new Date(query.from) : new Date(to.getTime() - 86_400_000);
      if (from.getTime() > to.getTime()) {
        throw new AppError('validation_failed', 'window.from is after window.to.', {
          field: 'window.from',
          hint: 'Send a window.from earlier than window.to (ISO 8601 UTC).',
        });
      }
      if (to.getTime() - from.getTime() > maxWindowMs) {
        throw new AppError('validation_failed', 'The window is longer than 14 days.', {
          field: 'window.from',
          hint: 'Ask for at most 14 days at a time.',
        });
      }
      const rows = await em.find(
        HealthObservation,
        { resourceId, organizationId: caller.organizationId, observedAt: { $gte: from, $lte: to } },
        { orderBy: { observedAt: 'desc', id: 'desc' }, limit: query.limit ?? 200 },
      );
      return {
        schemaVersion: 'resources.health-history/v1' as const,
        resourceId,
        from: from.toISOString(),
        to: to.toISOString(),
        generatedAt: now().toISOString(),
        observations: rows.map((row) => ({
          observationId: `hob_${row.id}`,
          observedAt: row.observedAt.toISOString(),
          overall: row.overall,
          runtimeLifecycle: row.runtimeLifecycle,
          runtimeHealth: row.runtimeHealth,
          publicAccessStatus: row.publicAccessStatus,
          proxyStatus: row.proxyStatus,
          healthPolicyStatus: row.healthPolicyStatus,
          latestDeploymentId: row.latestDeploymentId ?? null,
          summary: row.summary,
        })),
        sourceErrors: [],
      };
    },

    observeAll,

    start(started: MikroORM) {
      orm = started;
      if (timer !== undefined) return;
      timer = setInterval(() => {
        if (running !== undefined) return;
        running = observeAll()
          .catch((error: unknown) => log.error({ err: error }, 'health history round failed'))
          .finally(() => {
            running = undefined;
          });
      }, deps.intervalSeconds * 1000);
    },

    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
export type HealthHistory = ReturnType<typeof createHealthHistory>;
