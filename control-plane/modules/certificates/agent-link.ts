import type { EntityManager } from '@mikro-orm/postgresql';
import { commandKind } from '../../../shared/command-catalogue.js';
import type { EdgeSyncQueued } from '../../../shared/edge-command.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { AgentLinkHooks } from '../../agent-gateway/hooks.js';
import type { CommandService } from '../agent-commands/service.js';
import { requestAutomaticCertificates } from './automatic.js';
import { Certificate } from './entity.js';
import { checkCertificateExpiry } from './expiry-job.js';
import type { CertificateObserver } from './observe.js';

/** Options of {@link createCertificateJobs}. */
export interface CertificateJobsOptions {
  now: Clock;
  log: Logger;
  observer: CertificateObserver;
  commands: Pick<CommandService, 'find'>;
  /** How often pending managed certificates are looked at while there are any (5 s). */
  pollIntervalMs?: number;
  /** How often while one of them was requested less than a minute ago (1 s). */
  freshPollIntervalMs?: number;
  /** How often the expiry check runs (daily); it also runs with the first sweep after start. */
  expiryIntervalMs?: number;
}

/**
 * The certificates module's background work, owned by the composition: after each `edge.sync` an agent applied,
 * a managed certificate for every automatic-HTTPS binding it routes that has none (automatic.ts) and an observation
 * (Caddy starts ACME as soon as it has the route), a poll every second for a minute after a managed certificate is
 * requested and every few seconds after that while it waits, and the daily expiry check (which first reads back every active managed certificate, so
 * Caddy's own renewals are recorded before warnings are decided). The agent link calls the hooks on its session's
 * queue, so nothing here waits for an agent inside a hook: runs are started and tracked, and `stop()` awaits them.
 * Intervals are measured on the monotonic clock; decisions (deadlines, expiry) use the service clock.
 */
export function createCertificateJobs(options: CertificateJobsOptions) {
  const { now, log, observer, commands } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 5000;
  const freshPollIntervalMs = options.freshPollIntervalMs ?? 1000;
  const freshWindowMs = 60_000;
  const expiryIntervalMs = options.expiryIntervalMs ?? 24 * 3600_000;
  const tracked = new Set<Promise<unknown>>();
  const queued = new Set<string>();
  const everyServer = '*';
  let observing: Promise<void> | null = null;
  let stopped = false;
  let lastPoll = Number.NEGATIVE_INFINITY;
  let lastExpiry = Number.NEGATIVE_INFINITY;

  function track(name: string, work: () => Promise<unknown>): void {
    const run = work()
      .catch((error: unknown) => log.error({ err: error, task: name }, 'certificate job failed'))
      .finally(() => tracked.delete(run));
    tracked.add(run);
  }

  /** Queues an observation (of one server's certificates, or of all pending ones); one pass runs at a time. */
  function requestObservation(em: EntityManager, target: string): void {
    if (stopped) return;
    queued.add(target);
    if (observing !== null) return;
    observing = (async () => {
      while (queued.size > 0 && !stopped) {
        const targets = queued.has(everyServer) ? [everyServer] : [...queued];
        queued.clear();
        for (const serverId of targets) {
          const scope = serverId === everyServer ? {} : { serverId };
          await observer
            .observe(em.fork(), scope)
            .catch((error: unknown) => log.error({ err: error, serverId }, 'certificate observation failed'));
        }
      }
    })().finally(() => {
      observing = null;
    });
  }

  /** Reads back every managed certificate (renewals), then runs the expiry check. */
  async function daily(em: EntityManager): Promise<void> {
    await observer.observe(em.fork(), { includeActive: true });
    const summary = await checkCertificateExpiry(em.fork(), now());
    if (summary.warned.length + summary.expired.length + summary.cleared.length > 0) {
      log.info({ ...summary }, 'certificate expiry checked');
    }
  }

  const hooks: AgentLinkHooks = {
    async onCommandCompleted(em, commandId) {
      const command = await commands.find(em, commandId);
      if (command?.kind !== commandKind.edgeSync || command.state !== 'succeeded') return;
      const routes = (command.payload as Partial<EdgeSyncQueued>).routes ?? [];
      await requestAutomaticCertificates(em, now(), log, routes);
      requestObservation(em, command.server.id);
    },
    async onSweep(em) {
      if (stopped) return;
      const at = performance.now();
      if (at - lastExpiry >= expiryIntervalMs) {
        lastExpiry = at;
        track('expiry', () => daily(em));
      }
      if (at - lastPoll >= freshPollIntervalMs) {
        const waiting = await em.find(
          Certificate,
          { source: 'managed', deletedAt: null, status: { $in: ['issuing', 'renewing'] } },
          { fields: ['updatedAt'] },
        );
        // ACME orders mostly finish within seconds: a request less than a minute old is looked at every second.
        const fresh = waiting.some((c) => now().getTime() - c.updatedAt.getTime() < freshWindowMs);
        if (waiting.length > 0 && (fresh || at - lastPoll >= pollIntervalMs)) {
          lastPoll = at;
          requestObservation(em, everyServer);
        }
      }
    },
  };

  return {
    hooks,
    /** Runs the daily work once, now (tests, and an operator's "check now"). */
    runDaily: (em: EntityManager) => daily(em),
    /** Stops scheduling and waits for the runs in progress. */
    async stop(): Promise<void> {
      stopped = true;
      await observing;
      await Promise.all([...tracked]);
    },
  };
}

/** The certificate jobs' type. */
export type CertificateJobs = ReturnType<typeof createCertificateJobs>;
