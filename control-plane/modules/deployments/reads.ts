import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import type { Clock } from '../../../shared/time.js';
import { Environment } from '../environments/entity.js';
import type { Caller } from '../identity/auth-context.js';
import { inScope } from '../identity/token-scope.js';
import { Project } from '../projects/entity.js';
import { Resource } from '../resources/entity.js';
import { Server } from '../servers/entity.js';
import { Deployment, DeploymentLogLine, type DeploymentStatus } from './entity.js';
import { logLines } from './events.js';
import { assessRecovery, recoverySummaryOf, toRecoveryReadiness } from './recovery.js';
import type { DeploymentService } from './service.js';

/** Filters of the deployment list and count. */
export interface DeploymentQuery {
  projectId?: string;
  resourceId?: string;
  status?: string;
  statuses?: string;
  includeArchived?: boolean;
  limit?: number;
}

function toLogEntry(line: DeploymentLogLine) {
  return {
    timestamp: line.timestamp.toISOString(),
    source: line.source,
    phase: line.phase,
    level: line.level,
    message: line.message,
    masked: line.masked,
  };
}

/** The seed's deployment read model. */
export function toDeploymentView(d: Deployment, logCount: number) {
  return {
    id: d.id,
    projectId: d.project.id,
    environmentId: d.environment.id,
    resourceId: d.resource.id,
    serverId: d.server.id,
    destinationId: null,
    status: d.status,
    triggerKind: d.triggerKind,
    sourceDeploymentId: d.sourceDeploymentId ?? null,
    rollbackCandidateDeploymentId: null,
    rollbackOfDeploymentId: d.rollbackOfDeploymentId ?? null,
    sourceCommitSha: null,
    runtimePlan: d.snapshot.runtimePlan,
    environmentSnapshot: d.snapshot.environmentSnapshot,
    dependencyBindingReferences: [],
    logCount,
    accessUrl: d.publicUrl ?? d.directUrl ?? null,
    directUrl: d.directUrl ?? null,
    errorCode: d.errorCode ?? null,
    errorMessage: d.errorMessage ?? null,
    createdAt: d.createdAt.toISOString(),
    startedAt: d.startedAt?.toISOString() ?? null,
    finishedAt: d.finishedAt?.toISOString() ?? null,
    archivedAt: d.archivedAt?.toISOString() ?? null,
  };
}

/** Deployment reads: list, count, show with its sections, logs (docs/deployments.md). */
export function createDeploymentReads({ now, deployments }: { now: Clock; deployments: DeploymentService }) {
  async function logCounts(em: EntityManager, ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows: { deployment_id: string; n: string }[] = await em
      .getKnex()('deployment_log_lines')
      .whereIn('deployment_id', ids)
      .groupBy('deployment_id')
      .select('deployment_id', em.getKnex().raw('count(*) as n'));
    return new Map(rows.map((r) => [r.deployment_id, Number(r.n)]));
  }

  async function find(em: EntityManager, auth: Caller, query: DeploymentQuery) {
    const statuses = [query.status, ...(query.statuses?.split(',') ?? [])]
      .filter((s): s is string => !!s?.trim())
      .map((s) => s.trim());
    const found = await em.find(
      Deployment,
      {
        organization: auth.organizationId,
        ...(query.projectId ? { project: query.projectId } : {}),
        ...(query.resourceId ? { resource: query.resourceId } : {}),
        ...(statuses.length > 0 ? { status: { $in: statuses as DeploymentStatus[] } } : {}),
        ...(query.includeArchived ? {} : { archivedAt: null }),
      },
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
    return found.filter((d) =>
      inScope(auth, { projectId: d.project.id, environmentId: d.environment.id, resourceId: d.resource.id }),
    );
  }

  return {
    async count(em: EntityManager, auth: Caller, query: DeploymentQuery) {
      return { count: (await find(em, auth, query)).length };
    },

    async list(em: EntityManager, auth: Caller, query: DeploymentQuery) {
      const found = (await find(em, auth, query)).slice(0, query.limit ?? 50);
      const counts = await logCounts(
        em,
        found.map((d) => d.id),
      );
      const recent =
        found.length === 0
          ? []
          : await em.find(
              DeploymentLogLine,
              { deployment: { $in: found.map((d) => d.id) } },
              { orderBy: { id: 'desc' }, limit: 20 * found.length },
            );
      return {
        items: found.map((d) => ({
          ...toDeploymentView(d, counts.get(d.id) ?? 0),
          // The last lines only: the whole log is GET /deployments/{id}/logs.
          logs: recent
            .filter((l) => l.deployment.id === d.id)
            .slice(0, 20)
            .reverse()
            .map(toLogEntry),
        })),
      };
    },

    async show(em: EntityManager, auth: Caller, deploymentId: string) {
      const d = await deployments.load(em, auth, deploymentId);
      const logCount = (await logCounts(em, [d.id])).get(d.id) ?? 0;
      const [project, environment, resource, server] = await Promise.all([
        em.findOneOrFail(Project, d.project.id),
        em.findOneOrFail(Environment, d.environment.id),
        em.findOneOrFail(Resource, d.resource.id),
        em.findOneOrFail(Server, d.server.id),
      ]);
      const lastError = await em.findOne(
        DeploymentLogLine,
        { deployment: d.id, level: 'error' },
        { orderBy: { id: 'desc' } },
      );
      const recovery = await assessRecovery(em, d, { includeCandidates: false, maxCandidates: 1 });
      return {
        schemaVersion: 'deployments.show/v1' as const,
        deployment: toDeploymentView(d, logCount),
        status: {
          current: d.status,
          createdAt: d.createdAt.toISOString(),
          startedAt: d.startedAt?.toISOString() ?? null,
          finishedAt: d.finishedAt?.toISOString() ?? null,
          rollbackOfDeploymentId: d.rollbackOfDeploymentId ?? null,
          errorCode: d.errorCode ?? null,
          errorMessage: d.errorMessage ?? null,
        },
        relatedContext: {
          project: { id: project.id, name: project.name, slug: project.slug },
          environment: { id: environment.id, name: environment.name, kind: environment.kind },
          resource: { id: resource.id, name: resource.name, slug: resource.slug, kind: resource.kind },
          server: {
            id: server.id,
            name: server.name,
            host: server.host,
            port: server.port ?? 0,
            providerKey: server.providerKey,
          },
          destination: { id: null },
        },
        snapshot: {
          runtimePlan: d.snapshot.runtimePlan,
          environmentSnapshot: d.snapshot.environmentSnapshot,
          dependencyBindings: {
            status: 'ready',
            references: [],
            runtimeInjection: { status: 'ready', reason: 'no dependency bindings' },
          },
        },
        timeline: {
          createdAt: d.createdAt.toISOString(),
          startedAt: d.startedAt?.toISOString() ?? null,
          finishedAt: d.finishedAt?.toISOString() ?? null,
          logCount,
        },
        latestFailure:
          d.status === 'failed' || d.status === 'interrupted'
            ? {
                timestamp: (d.finishedAt ?? d.updatedAt).toISOString(),
                source: 'berth',
                phase: lastError?.phase ?? 'finish',
                level: 'error',
                message: d.errorMessage ?? lastError?.message ?? '',
              }
            : null,
        recoverySummary: recoverySummaryOf(recovery),
        nextActions: recovery.ended
          ? ['logs', ...(recovery.retry.allowed ? ['retry'] : []), ...(recovery.rollback.allowed ? ['rollback'] : [])]
          : ['events', 'cancel'],
        sectionErrors: [],
        generatedAt: now().toISOString(),
      };
    },

    /** `GET /deployments/{id}/recovery-readiness`: what can be done about the deployment now, and why. */
    async recoveryReadiness(
      em: EntityManager,
      auth: Caller,
      deploymentId: string,
      query: { resourceId?: string; includeCandidates?: boolean; maxCandidates?: number },
    ) {
      const d = await deployments.load(em, auth, deploymentId);
      if (query.resourceId !== undefined && query.resourceId !== d.resource.id) {
        throw new AppError('validation_failed', `Deployment "${d.id}" is not a deployment of "${query.resourceId}".`, {
          field: 'resourceId',
          hint: `Leave resourceId out, or send the deployment's own resource "${d.resource.id}".`,
        });
      }
      const options = { includeCandidates: query.includeCandidates ?? true, maxCandidates: query.maxCandidates ?? 20 };
      return toRecoveryReadiness(await assessRecovery(em, d, options), now());
    },

    async logs(em: EntityManager, auth: Caller, deploymentId: string) {
      await deployments.load(em, auth, deploymentId);
      return { deploymentId, logs: (await logLines(em, deploymentId)).map(toLogEntry) };
    },
  };
}

/** The deployment reads' type. */
export type DeploymentReads = ReturnType<typeof createDeploymentReads>;
