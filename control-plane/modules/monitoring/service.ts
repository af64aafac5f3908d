import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { AuthContext } from '../identity/auth-context.js';
import { type AfterStore, createTelemetryIngest, type LogLineStore } from './ingest.js';
import { type Bucket, listSamples, readRollup } from './reads.js';
import { createRetentionService, enforceSampleRetention } from './retention.js';
import { resolveScope, type ScopeInput } from './scope.js';
import { createThresholds } from './thresholds.js';
import type { Signal } from './totals.js';
import { inspectUsage } from './usage.js';
import { type ReadContext, windowOf } from './window.js';

/** A read's window as the query gives it. */
export interface WindowInput {
  from?: string | undefined;
  to?: string | undefined;
}

/** What {@link createMonitoringService} needs. */
export interface MonitoringDeps {
  now: Clock;
  log: Logger;
  /** The agents' sample interval (BERTH_TELEMETRY_INTERVAL_MS). */
  intervalMs: number;
  afterStore?: AfterStore;
  /** Where runtime log lines from the agents' logs streams go (the runtime-logs module). */
  storeLogLines?: LogLineStore;
}

/**
 * Runtime monitoring: the telemetry ingest the agent gateway stores batches through, the samples and rollup
 * reads, retention defaults, and the hourly retention job (node-cron).
 */
export function createMonitoringService(deps: MonitoringDeps) {
  const { now, log } = deps;
  const retention = createRetentionService({ now });
  const listeners: AfterStore[] = deps.afterStore ? [deps.afterStore] : [];
  const ingest = createTelemetryIngest({
    ...(deps.storeLogLines ? { storeLogLines: deps.storeLogLines } : {}),
    // A listener's failure is its own: the batch is stored and acknowledged regardless.
    afterStore: async (em, serverId, at, batch) => {
      for (const listener of listeners) {
        await listener(em, serverId, at, batch).catch((error: unknown) =>
          log.error({ err: error, serverId }, 'a monitoring listener failed on a stored batch'),
        );
      }
    },
  });
  const thresholds = createThresholds({ now, log, context: (em, organizationId) => context(em, organizationId) });
  listeners.push((em, serverId) => thresholds.onBatch(em.fork(), serverId));
  let job: ScheduledTask | undefined;
  let running: Promise<void> | undefined;

  async function context(em: EntityManager, organizationId: string): Promise<ReadContext> {
    const { days } = await retention.effective(em, organizationId, 'runtime-monitoring-samples');
    return { now: now(), intervalMs: deps.intervalMs, retentionHours: days * 24 };
  }

  return {
    ingest,
    retention,
    thresholds,
    /** Lets another part (thresholds, capacity policies) look at every stored batch, after it is committed. */
    onStored(hook: AfterStore) {
      listeners.push(hook);
    },

    async samples(
      em: EntityManager,
      caller: AuthContext,
      query: { scope: ScopeInput; window: WindowInput; signals: readonly Signal[]; limit: number },
    ) {
      const scope = await resolveScope(em, caller.organizationId, query.scope);
      const ctx = await context(em, caller.organizationId);
      const window = windowOf(query.window, ctx, 3_600_000);
      return listSamples(em, scope, window, query.signals, query.limit, ctx);
    },

    async rollup(
      em: EntityManager,
      caller: AuthContext,
      query: {
        scope: ScopeInput;
        window: WindowInput;
        bucket: Bucket;
        signals: readonly Signal[];
        includeDeploymentMarkers: boolean;
        includeTopContributors: boolean;
      },
    ) {
      const scope = await resolveScope(em, caller.organizationId, query.scope);
      const ctx = await context(em, caller.organizationId);
      const defaultSpan = { minute: 3_600_000, 'five-minute': 6 * 3_600_000, hour: 7 * 86_400_000 }[query.bucket];
      const window = windowOf(query.window, ctx, Math.min(defaultSpan, ctx.retentionHours * 3_600_000));
      return readRollup(em, caller.organizationId, scope, window, query, ctx);
    },

    async usage(
      em: EntityManager,
      caller: AuthContext,
      query: { scope: ScopeInput; includeArtifacts: boolean; includeWarnings: boolean },
    ) {
      const scope = await resolveScope(em, caller.organizationId, query.scope);
      return inspectUsage(em, scope, await context(em, caller.organizationId), query);
    },

    /** Starts the hourly retention job (and runs it once now). */
    startJobs(orm: MikroORM) {
      if (job !== undefined) return;
      const run = async () => {
        running = enforceSampleRetention(orm.em.fork(), retention, now(), log).then(
          () => undefined,
          (error: unknown) => log.error({ err: error }, 'monitoring retention failed; it runs again next hour'),
        );
        await running;
      };
      job = cron.schedule('7 * * * *', run, { name: 'monitoring-retention', noOverlap: true });
      void run();
    },

    async stopJobs() {
      await job?.destroy();
      job = undefined;
      await running;
    },
  };
}
export type MonitoringService = ReturnType<typeof createMonitoringService>;
