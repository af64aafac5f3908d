import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import cron, { type ScheduledTask } from 'node-cron';
import { type CommandResultOf, commandKind } from '../../../shared/command-catalogue.js';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { AgentLinkHooks } from '../../agent-gateway/hooks.js';
import { AgentCommand } from '../agent-commands/entity.js';
import { Deployment } from '../deployments/entity.js';
import type { Caller } from '../identity/auth-context.js';
import type { RetentionService } from '../monitoring/retention.js';
import type { ResourceService } from '../resources/service.js';
import { RuntimeLogArchive, RuntimeLogLine } from './entity.js';
import { type LineFilter, linesAfter, lineView, parseCursor, tailLines } from './reads.js';

/** The query of `GET /resources/{id}/runtime-logs` (and its stream). */
export interface LogQuery {
  deploymentId?: string | undefined;
  serviceName?: string | undefined;
  tailLines?: number | undefined;
  since?: string | undefined;
  cursor?: string | undefined;
}

/** `POST /resources/{id}/runtime-log-archives`. */
export interface ArchiveInput {
  deploymentId?: string | undefined;
  serviceName?: string | undefined;
  tailLines?: number | undefined;
  reason?: string | undefined;
}

/** `POST /resources/runtime-log-archives/prune`. */
export interface ArchivePruneInput {
  before: string;
  resourceId?: string | undefined;
  deploymentId?: string | undefined;
  serverId?: string | undefined;
  serviceName?: string | undefined;
  dryRun?: boolean | undefined;
}

/** Lines an archive keeps at most; what an automatic archive of a replaced container keeps. */
const maxArchiveLines = 1_000;
const replacedTailLines = 200;
/** A replaced container's last lines may still be in flight when its deployment's switch is recorded. */
const archiveReplacedAfterMs = 3_000;

const durationPattern = /^(\d{1,6})(s|m|h|d)$/;
const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `since`: an ISO 8601 instant, or a duration back from now (`30s`, `15m`, `2h`, `7d`). */
export function parseSince(raw: string | undefined, now: Date): Date | undefined {
  if (raw === undefined) return undefined;
  const duration = durationPattern.exec(raw);
  if (duration) return new Date(now.getTime() - Number(duration[1]) * unitMs[duration[2] as keyof typeof unitMs]);
  const at = new Date(raw);
  if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(raw)) {
    throw new AppError('validation_failed', 'since is neither an instant nor a duration.', {
      field: 'since',
      hint: 'Send an ISO 8601 instant (2026-12-07T10:00:00Z) or a duration back from now: 30s, 15m, 2h, 7d.',
    });
  }
  return at;
}

function archiveSummary(a: Omit<RuntimeLogArchive, 'lines'>) {
  return {
    archiveId: a.id,
    resourceId: a.resourceId,
    deploymentId: a.deploymentId,
    serverId: a.serverId,
    serviceName: a.serviceName,
    runtimeKind: 'docker-container',
    capturedAt: a.capturedAt.toISOString(),
    lineCount: a.lineCount,
    retentionStatus: 'retained' as const,
    reason: a.reason,
  };
}

/**
 * Runtime logs of resources: reads of the stored lines (which follow the resource across deployments), archives
 * (bounded snapshots, also taken automatically of a container a deployment replaced), and retention of both by
 * the `resource-runtime-log-archives` default.
 */
export function createRuntimeLogService(deps: {
  now: Clock;
  log: Logger;
  resources: Pick<ResourceService, 'load'>;
  retention: Pick<RetentionService, 'effective'>;
}) {
  const { now, log, resources } = deps;
  let job: ScheduledTask | undefined;
  let orm: MikroORM | undefined;
  const pending = new Set<Promise<unknown>>();

  async function filterOf(em: EntityManager, auth: Caller, resourceId: string, query: LogQuery): Promise<LineFilter> {
    await resources.load(em, auth, resourceId);
    if (query.deploymentId !== undefined) {
      const d = await em.findOne(Deployment, { id: query.deploymentId, resource: resourceId });
      if (d === null) throw notFound('Deployment', query.deploymentId, 'deploymentId');
    }
    return {
      resourceId,
      deploymentId: query.deploymentId,
      serviceName: query.serviceName,
      since: parseSince(query.since, now()),
    };
  }

  async function capture(
    em: EntityManager,
    organizationId: string,
    filter: LineFilter,
    count: number,
    reason: string,
  ): Promise<RuntimeLogArchive> {
    const rows = await tailLines(em, filter, count);
    const last = rows.at(-1);
    const archive = em.create(RuntimeLogArchive, {
      id: newId('runtimeLogArchive'),
      organization: organizationId,
      resourceId: filter.resourceId,
      deploymentId: filter.deploymentId ?? last?.deploymentId ?? '',
      serverId: last?.serverId ?? '',
      serviceName: filter.serviceName ?? last?.serviceName ?? 'web',
      capturedAt: now(),
      reason: reason.slice(0, 200),
      lineCount: rows.length,
      lines: rows.map(lineView),
    });
    await em.flush();
    return archive;
  }

  /** Archives the tail of the containers a successful deployment replaced (each one's deployment). */
  async function archiveReplaced(em: EntityManager, commandId: string): Promise<void> {
    const command = await em.findOne(AgentCommand, commandId);
    if (command?.kind !== commandKind.deploymentApply || command.state !== 'succeeded') return;
    const result = command.result as CommandResultOf<typeof commandKind.deploymentApply> | null;
    const replaced = result?.replacedDeploymentIds ?? [];
    for (const deploymentId of replaced) {
      const d = await em.findOne(Deployment, deploymentId);
      if (d === null) continue;
      await capture(
        em,
        d.organization.id,
        { resourceId: d.resource.id, deploymentId },
        replacedTailLines,
        `replaced: the container of ${deploymentId} was replaced by a newer deployment`,
      );
    }
  }

  async function enforceRetention(): Promise<void> {
    if (orm === undefined) return;
    const em = orm.em.fork();
    const organizations = [
      ...new Set((await em.find(RuntimeLogArchive, {}, { fields: ['organization'] })).map((a) => a.organization.id)),
    ];
    const lineOrganizations = await em
      .getConnection()
      .execute<Array<{ organization_id: string }>>('select distinct "organization_id" from "runtime_log_lines"');
    for (const id of lineOrganizations.map((r) => r.organization_id))
      if (!organizations.includes(id)) organizations.push(id);
    let deleted = 0;
    for (const organizationId of organizations) {
      const { days, destructive } = await deps.retention.effective(em, organizationId, 'resource-runtime-log-archives');
      if (!destructive) continue;
      const cutoff = new Date(now().getTime() - days * 86_400_000);
      deleted += await em.nativeDelete(RuntimeLogLine, { organizationId, observedAt: { $lt: cutoff } });
      deleted += await em.nativeDelete(RuntimeLogArchive, {
        organization: organizationId,
        capturedAt: { $lt: cutoff },
      });
    }
    if (deleted > 0) log.info({ deleted }, 'runtime log retention applied');
  }

  function track<T>(work: Promise<T>): void {
    const tracked = work.catch((error: unknown) => log.error({ err: error }, 'runtime logs: background work failed'));
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
  }

  return {
    filterOf,

    async list(em: EntityManager, auth: Caller, resourceId: string, query: LogQuery) {
      const filter = await filterOf(em, auth, resourceId, query);
      const count = query.tailLines ?? 100;
      const rows =
        query.cursor !== undefined
          ? await linesAfter(em, filter, parseCursor(query.cursor, 'cursor'), Math.max(count, 1))
          : await tailLines(em, filter, count);
      return {
        resourceId,
        deploymentId: query.deploymentId ?? rows.at(-1)?.deploymentId ?? null,
        logs: rows.map(lineView),
      };
    },

    async archive(em: EntityManager, auth: Caller, resourceId: string, input: ArchiveInput) {
      const filter = await filterOf(em, auth, resourceId, input);
      const archive = await capture(
        em,
        auth.organizationId,
        filter,
        input.tailLines ?? maxArchiveLines,
        input.reason?.trim() || 'requested',
      );
      return {
        schemaVersion: 'resources.runtime-logs.archive/v1' as const,
        archive: { ...archiveSummary(archive), lines: archive.lines },
      };
    },

    async listArchives(
      em: EntityManager,
      auth: Caller,
      query: {
        resourceId?: string;
        deploymentId?: string;
        serverId?: string;
        serviceName?: string;
        limit?: number;
        cursor?: string;
      },
    ) {
      const limit = query.limit ?? 50;
      const where: Record<string, unknown> = { organization: auth.organizationId };
      for (const key of ['resourceId', 'deploymentId', 'serverId', 'serviceName'] as const) {
        if (query[key] !== undefined) where[key] = query[key];
      }
      // The cursor is the last archive id of the previous page; ids sort by creation time.
      if (query.cursor !== undefined) where['id'] = { $lt: query.cursor };
      const rows = await em.find(RuntimeLogArchive, where, {
        orderBy: { id: 'desc' },
        limit: limit + 1,
        exclude: ['lines'],
      });
      const page = rows.slice(0, limit);
      return {
        schemaVersion: 'resources.runtime-log-archives.list/v1' as const,
        items: page.map(archiveSummary),
        nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
        generatedAt: now().toISOString(),
      };
    },

    async showArchive(em: EntityManager, auth: Caller, archiveId: string) {
      const archive = await em.findOne(RuntimeLogArchive, { id: archiveId, organization: auth.organizationId });
      if (archive === null) throw notFound('Runtime log archive', archiveId, 'archiveId');
      return {
        schemaVersion: 'resources.runtime-log-archives.show/v1' as const,
        archive: { ...archiveSummary(archive), lines: archive.lines },
      };
    },

    async pruneArchives(em: EntityManager, auth: Caller, input: ArchivePruneInput) {
      const before = new Date(input.before);
      if (before.getTime() > now().getTime() + 60_000) {
        throw new AppError('validation_failed', 'before is in the future.', {
          field: 'before',
          hint: 'Send an instant in the past (ISO 8601 UTC).',
        });
      }
      const where: Record<string, unknown> = { organization: auth.organizationId, capturedAt: { $lt: before } };
      for (const key of ['resourceId', 'deploymentId', 'serverId', 'serviceName'] as const) {
        if (input[key] !== undefined) where[key] = input[key];
      }
      const matched = await em.find(RuntimeLogArchive, where, { fields: ['id', 'resourceId'] });
      // Like every prune, a dry run unless told otherwise.
      const dryRun = input.dryRun ?? true;
      const pruned = dryRun ? 0 : await em.nativeDelete(RuntimeLogArchive, { id: { $in: matched.map((a) => a.id) } });
      return {
        schemaVersion: 'resources.runtime-log-archives.prune/v1' as const,
        before: before.toISOString(),
        resourceId: input.resourceId ?? null,
        deploymentId: input.deploymentId ?? null,
        serverId: input.serverId ?? null,
        serviceName: input.serviceName ?? null,
        dryRun,
        matchedCount: matched.length,
        prunedCount: pruned,
        affectedResourceCount: new Set(matched.map((a) => a.resourceId)).size,
        prunedAt: now().toISOString(),
      };
    },

    /** Archives replaced containers' tails once a deployment's switch is recorded. */
    hooks: {
      async onCommandCompleted(em: EntityManager, commandId: string) {
        const command = await em.findOne(AgentCommand, commandId, { fields: ['kind', 'state'] });
        if (orm === undefined || command?.kind !== commandKind.deploymentApply || command.state !== 'succeeded') return;
        const fork = orm.em.fork();
        track(new Promise((r) => setTimeout(r, archiveReplacedAfterMs)).then(() => archiveReplaced(fork, commandId)));
      },
    } satisfies AgentLinkHooks,

    start(started: MikroORM) {
      orm = started;
      job ??= cron.schedule('27 * * * *', () => track(enforceRetention()), {
        name: 'runtime-log-retention',
        noOverlap: true,
      });
    },

    enforceRetention,

    async stop() {
      await job?.destroy();
      job = undefined;
      await Promise.all(pending);
    },
  };
}
export type RuntimeLogService = ReturnType<typeof createRuntimeLogService>;
