import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Environment } from '../environments/entity.js';
import { Project } from '../projects/entity.js';
import { Resource } from '../resources/entity.js';
import { Server } from '../servers/entity.js';
import { activeDeploymentOf, type Blocker, inProgressBlocker, serverBlockers, targetBlockers } from './admission.js';
import { Deployment, terminalStatuses } from './entity.js';

/**
 * What can be done about a deployment now — retry it, redeploy its resource, roll back to an earlier success — judged
 * by the same admission rules the deploying calls apply (docs/deployments.md). `GET /deployments/{id}` summarises it
 * and `GET /deployments/{id}/recovery-readiness` shows it whole, so the two never disagree.
 */

/** Why an operation is allowed or not; `category` says which. */
export interface RecoveryReason {
  code: string;
  category: 'allowed' | 'blocked';
  phase: string;
  message: string;
  relatedDeploymentId: string | null;
  relatedEntityId: string | null;
  relatedEntityType: string | null;
  /** True when the block may clear by itself (a deployment ending, a server reconnecting). */
  retriable: boolean;
  recommendation: string | null;
}

/** One recovery operation: whether it would be accepted now, and whether one it started is still under way. */
export interface RecoveryDecision {
  allowed: boolean;
  commandActive: boolean;
  reasons: RecoveryReason[];
  targetOperation: string;
}

/** How many rollback candidates to list, and whether to list them at all. */
export interface RecoveryOptions {
  includeCandidates: boolean;
  maxCandidates: number;
}

function blockedBy(b: Blocker): RecoveryReason {
  return {
    code: b.reasonCode,
    category: 'blocked',
    phase: 'admission',
    message: b.error.message,
    relatedDeploymentId: b.relatedEntityType === 'deployment' ? b.relatedEntityId : null,
    relatedEntityId: b.relatedEntityId,
    relatedEntityType: b.relatedEntityType,
    retriable: b.retriable,
    recommendation: b.error.hint ?? null,
  };
}

const reason = (
  code: string,
  category: RecoveryReason['category'],
  message: string,
  extra: Partial<RecoveryReason> = {},
): RecoveryReason => ({
  code,
  category,
  phase: 'recovery',
  message,
  relatedDeploymentId: null,
  relatedEntityId: null,
  relatedEntityType: null,
  retriable: false,
  recommendation: null,
  ...extra,
});

const decide = (targetOperation: string, commandActive: boolean, blocked: RecoveryReason[], ok: RecoveryReason) => ({
  allowed: blocked.length === 0,
  commandActive,
  reasons: blocked.length === 0 ? [ok] : blocked,
  targetOperation,
});

/** Judges retry, redeploy and rollback for one deployment; reads only. */
export async function assessRecovery(em: EntityManager, d: Deployment, options: RecoveryOptions) {
  const ended = terminalStatuses.includes(d.status);
  const [resource, environment, project, running, latest] = await Promise.all([
    em.findOneOrFail(Resource, d.resource.id),
    em.findOneOrFail(Environment, d.environment.id),
    em.findOneOrFail(Project, d.project.id),
    activeDeploymentOf(em, d.resource.id),
    em.findOneOrFail(Deployment, { resource: d.resource.id }, { orderBy: { createdAt: 'desc', id: 'desc' } }),
  ]);
  // The same query as the rollback itself, so its default candidate is the one recommended here.
  const earlier = { resource: d.resource.id, status: 'succeeded' as const, createdAt: { $lt: d.createdAt } };
  const [candidateCount, candidates] = await Promise.all([
    em.count(Deployment, earlier),
    em.find(Deployment, earlier, {
      orderBy: { createdAt: 'desc' },
      limit: options.includeCandidates ? options.maxCandidates : 1,
    }),
  ]);
  const serverIds = [...new Set([d.server.id, latest.server.id, ...candidates.map((c) => c.server.id)])];
  const servers = new Map((await em.find(Server, { id: { $in: serverIds } })).map((s) => [s.id, s]));

  const notTerminal = reason('attempt-not-terminal', 'blocked', `Deployment "${d.id}" is still ${d.status}.`, {
    relatedDeploymentId: d.id,
    relatedEntityId: d.id,
    relatedEntityType: 'deployment',
    retriable: true,
    recommendation: `Wait for it to end (GET /deployments/${d.id}/events/stream), or cancel it with POST /deployments/${d.id}/cancel.`,
  });
  const target = targetBlockers({ project, environment, resource });
  // What `admit` would refuse for a deployment of this resource to `serverId`, once this one has ended.
  const blockersOn = (serverId: string): RecoveryReason[] =>
    ended
      ? [
          ...target,
          ...serverBlockers(servers.get(serverId)!),
          ...(running === null ? [] : [inProgressBlocker(resource, running)]),
        ].map(blockedBy)
      : [notTerminal];

  const retry = decide(
    'deployments.retry',
    running?.triggerKind === 'retry' && running.sourceDeploymentId === d.id,
    d.status === 'succeeded'
      ? [
          reason('attempt-succeeded', 'blocked', `Deployment "${d.id}" succeeded: there is nothing to retry.`, {
            relatedDeploymentId: d.id,
            relatedEntityId: d.id,
            relatedEntityType: 'deployment',
            recommendation: `Redeploy the resource with POST /resources/${resource.id}/redeploy.`,
          }),
        ]
      : blockersOn(d.server.id),
    reason(`attempt-${d.status}`, 'allowed', `Deployment "${d.id}" ended ${d.status}: its snapshot can run again.`, {
      relatedDeploymentId: d.id,
      relatedEntityId: d.id,
      relatedEntityType: 'deployment',
      recommendation: `POST /deployments/${d.id}/retry`,
    }),
  );
  const redeploy = decide(
    'resources.redeploy',
    running?.triggerKind === 'redeploy',
    blockersOn(latest.server.id),
    reason('resource-deployable', 'allowed', `Resource "${resource.name}" can be deployed again.`, {
      relatedEntityId: resource.id,
      relatedEntityType: 'resource',
      recommendation: `POST /resources/${resource.id}/redeploy deploys its current configuration to the server of deployment "${latest.id}".`,
    }),
  );
  const candidateViews = candidates.map((c) => {
    const blocked = blockersOn(c.server.id);
    const server = servers.get(c.server.id)!;
    return {
      deploymentId: c.id,
      id: c.id,
      createdAt: c.createdAt.toISOString(),
      finishedAt: c.finishedAt?.toISOString() ?? null,
      status: c.status,
      image: c.snapshot.spec.image,
      serverId: server.id,
      sourceSummary: `${c.snapshot.runtimePlan.source.kind} ${c.snapshot.runtimePlan.source.locator}`,
      artifactSummary: `image ${c.snapshot.spec.image}`,
      environmentSnapshotId: c.snapshot.environmentSnapshot.id,
      runtimeTargetSummary: `docker-container on ${server.name} (single-server)`,
      rollbackReady: blocked.length === 0,
      reasons:
        blocked.length > 0
          ? blocked
          : [
              reason(
                'candidate-succeeded',
                'allowed',
                `Deployment "${c.id}" succeeded earlier; its snapshot can run again.`,
                {
                  relatedDeploymentId: c.id,
                  relatedEntityId: c.id,
                  relatedEntityType: 'deployment',
                },
              ),
            ],
    };
  });
  const recommended = candidateViews[0];
  const rollback = {
    ...decide(
      'deployments.rollback',
      running?.triggerKind === 'rollback' && running.rollbackOfDeploymentId === d.id,
      recommended === undefined
        ? [
            ...(ended ? [] : [notTerminal]),
            reason(
              'rollback-candidate-missing',
              'blocked',
              `Deployment "${d.id}" has no earlier successful deployment.`,
              {
                recommendation:
                  'A rollback needs an earlier deployment of the resource that succeeded; deploy a known-good image instead.',
              },
            ),
          ]
        : recommended.reasons.filter((r) => r.category === 'blocked'),
      reason('rollback-candidate-available', 'allowed', `Deployment "${recommended?.id}" can be rolled back to.`, {
        relatedDeploymentId: recommended?.id ?? null,
        recommendation: `POST /deployments/${d.id}/rollback {"rollbackCandidateDeploymentId": "${recommended?.id}"}`,
      }),
    ),
    candidates: options.includeCandidates ? candidateViews : [],
    recommendedCandidateId: recommended?.id ?? null,
  };
  const stateVersion = createHash('sha256')
    .update(
      JSON.stringify([
        d.id,
        d.status,
        d.updatedAt,
        d.archivedAt,
        [resource.updatedAt, resource.lifecycleStatus, resource.source === null],
        [environment.updatedAt, environment.lifecycleStatus, project.updatedAt, project.lifecycleStatus],
        [...servers.values()].map((s) => [s.id, s.lifecycleStatus, s.connectionState]),
        [running?.id, running?.status, latest.id, candidateCount, recommended?.id],
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  return { deployment: d, ended, retry, redeploy, rollback, rollbackCandidateCount: candidateCount, stateVersion };
}

/** The assessment's verdict. */
export type RecoveryAssessment = Awaited<ReturnType<typeof assessRecovery>>;

const blockedCodes = (...decisions: RecoveryDecision[]) => [
  ...new Set(decisions.flatMap((x) => x.reasons.filter((r) => r.category === 'blocked').map((r) => r.code))),
];

/** `deployments.show/v1`'s `recoverySummary`: the verdicts without the reasons. */
export function recoverySummaryOf(a: RecoveryAssessment) {
  return {
    source: 'deployments.recovery-readiness',
    retryable: a.retry.allowed,
    redeployable: a.redeploy.allowed,
    rollbackReady: a.rollback.allowed,
    rollbackCandidateCount: a.rollbackCandidateCount,
    blockedReasonCodes: blockedCodes(a.retry, a.redeploy, a.rollback),
  };
}

/** What to do next, best first; a blocked operation stays listed with the reason it is blocked. */
function recommendedActions(a: RecoveryAssessment) {
  const d = a.deployment;
  const action = (
    kind: 'query' | 'command',
    targetOperation: string,
    label: string,
    extra: { safeByDefault?: boolean; decision?: RecoveryDecision } = {},
  ) => ({
    kind,
    targetOperation,
    label,
    safeByDefault: extra.safeByDefault ?? kind === 'query',
    blockedReasonCode: extra.decision ? (blockedCodes(extra.decision)[0] ?? null) : null,
    commandActive: extra.decision?.commandActive ?? false,
  });
  const recoveries = [
    action('command', 'deployments.retry', `Retry: POST /deployments/${d.id}/retry`, { decision: a.retry }),
    action('command', 'deployments.rollback', `Roll back: POST /deployments/${d.id}/rollback`, {
      decision: a.rollback,
    }),
    action('command', 'resources.redeploy', `Redeploy: POST /resources/${d.resource.id}/redeploy`, {
      decision: a.redeploy,
    }),
  ].sort((x, y) => Number(x.blockedReasonCode !== null) - Number(y.blockedReasonCode !== null));
  return [
    ...(a.ended
      ? []
      : [
          action('query', 'deployments.stream-events', `Follow it: GET /deployments/${d.id}/events/stream`),
          action('command', 'deployments.cancel', `Cancel it: POST /deployments/${d.id}/cancel`, {
            safeByDefault: false,
          }),
        ]),
    ...recoveries,
    action('query', 'deployments.logs', `Read its log: GET /deployments/${d.id}/logs`),
    ...(a.ended && d.archivedAt === null
      ? [action('command', 'deployments.archive', `Archive it: POST /deployments/${d.id}/archive`)]
      : []),
  ];
}

/** `deployments.recovery-readiness/v1`. */
export function toRecoveryReadiness(a: RecoveryAssessment, generatedAt: Date) {
  return {
    schemaVersion: 'deployments.recovery-readiness/v1' as const,
    deploymentId: a.deployment.id,
    resourceId: a.deployment.resource.id,
    generatedAt: generatedAt.toISOString(),
    stateVersion: a.stateVersion,
    recoverable: a.retry.allowed || a.redeploy.allowed || a.rollback.allowed,
    retryable: a.retry.allowed,
    redeployable: a.redeploy.allowed,
    rollbackReady: a.rollback.allowed,
    rollbackCandidateCount: a.rollbackCandidateCount,
    retry: a.retry,
    redeploy: a.redeploy,
    rollback: a.rollback,
    recommendedActions: recommendedActions(a),
  };
}
