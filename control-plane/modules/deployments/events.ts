import type { EntityManager } from '@mikro-orm/postgresql';
import { knexOf } from '../../db/knex.js';
import { Deployment, DeploymentEvent, DeploymentLogLine, terminalStatuses } from './entity.js';

/** Channel announcing a new event (payload: the deployment id), so SSE streams on every replica wake up. */
export const deploymentEventsChannel = 'berth_deployment_events';

/** One event as it is appended. */
export interface NewEvent {
  eventType: string;
  phase: string;
  status: string;
  summary: string;
  source?: string;
  retriable?: boolean;
  emittedAt?: Date;
}

/**
 * Appends an event with the next sequence number of its deployment. The deployment row is locked first, so two
 * writers (the API and the agent link) never take the same number.
 */
export async function appendEvent(em: EntityManager, deploymentId: string, event: NewEvent, now: Date): Promise<void> {
  await em.transactional(async (tx) => {
    const trx = knexOf(tx);
    await trx('deployments').where('id', deploymentId).forUpdate().select('id');
    const [{ next }] = await trx('deployment_events')
      .where('deployment_id', deploymentId)
      .select(trx.raw('coalesce(max(sequence), 0) + 1 as next'));
    await trx('deployment_events').insert({
      deployment_id: deploymentId,
      sequence: next,
      event_type: event.eventType,
      source: event.source ?? 'berth',
      phase: event.phase,
      status: event.status,
      retriable: event.retriable ?? false,
      summary: event.summary,
      emitted_at: event.emittedAt ?? now,
    });
    await trx.raw('select pg_notify(?, ?)', [deploymentEventsChannel, deploymentId]);
  });
}

/** Appends log lines (already masked by the caller). */
export async function appendLogLines(
  em: EntityManager,
  deploymentId: string,
  lines: { timestamp: Date; source: string; phase: string; level: string; message: string; masked: boolean }[],
): Promise<void> {
  if (lines.length === 0) return;
  await knexOf(em)('deployment_log_lines').insert(lines.map((l) => ({ deployment_id: deploymentId, ...l })));
}

/** The seed's `deployments.stream-events/v1` envelope of one event. */
export function toEnvelope(event: DeploymentEvent) {
  return {
    schemaVersion: 'deployments.stream-events/v1' as const,
    kind: 'event' as const,
    event: {
      deploymentId: event.deployment.id,
      sequence: event.sequence,
      cursor: String(event.id),
      emittedAt: event.emittedAt.toISOString(),
      source: event.source,
      eventType: event.eventType,
      phase: event.phase,
      status: event.status,
      retriable: event.retriable,
      summary: event.summary,
    },
  };
}
export type EventEnvelope = ReturnType<typeof toEnvelope>;

/** Events of a deployment after `cursor` (exclusive), oldest first. */
export async function eventsAfter(em: EntityManager, deploymentId: string, cursor: string | null, limit: number) {
  return em.find(
    DeploymentEvent,
    { deployment: deploymentId, ...(cursor === null ? {} : { id: { $gt: cursor } }) },
    { orderBy: { id: 'asc' }, limit },
  );
}

/** The last `limit` events of a deployment, oldest first. */
export async function latestEvents(em: EntityManager, deploymentId: string, limit: number) {
  const newest = await em.find(DeploymentEvent, { deployment: deploymentId }, { orderBy: { id: 'desc' }, limit });
  return newest.reverse();
}

/** True when the deployment has reached a status that no longer changes. */
export async function isTerminal(em: EntityManager, deploymentId: string): Promise<boolean> {
  const deployment = await em.fork().findOne(Deployment, deploymentId, { fields: ['status'] });
  return deployment === null || terminalStatuses.includes(deployment.status);
}

/** A deployment's log, oldest first. */
export async function logLines(em: EntityManager, deploymentId: string, limit = 5000) {
  return em.find(DeploymentLogLine, { deployment: deploymentId }, { orderBy: { id: 'asc' }, limit });
}

/** Ends a deployment with a terminal status, once, with its closing event. */
export async function finish(
  em: EntityManager,
  deployment: Deployment,
  status: 'succeeded' | 'failed' | 'canceled' | 'interrupted',
  outcome: { code?: string; message: string },
  at: Date,
): Promise<void> {
  if (terminalStatuses.includes(deployment.status)) return;
  deployment.status = status;
  deployment.finishedAt = at;
  deployment.updatedAt = at;
  if (status === 'canceled') deployment.canceledAt ??= at;
  if (status !== 'succeeded') {
    deployment.errorCode = outcome.code ?? status;
    deployment.errorMessage = outcome.message;
  }
  await em.flush();
  await appendEvent(
    em,
    deployment.id,
    {
      eventType: `deployment-${status}`,
      phase: 'finish',
      status,
      summary: outcome.message,
      retriable: status !== 'succeeded',
    },
    at,
  );
}
