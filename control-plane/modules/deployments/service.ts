import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { commandKind } from '../../../shared/command-catalogue.js';
import type { DeploymentApplyQueued } from '../../../shared/deployment-command.js';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { requireConfirm } from '../../guards.js';
import type { KeyRing } from '../../secrets/key-ring.js';
import type { CommandService } from '../agent-commands/service.js';
import type { ConfigurationService } from '../configuration/service.js';
import type { Caller } from '../identity/auth-context.js';
import { requireInScope } from '../identity/token-scope.js';
import { Resource } from '../resources/entity.js';
import { admit, conflict, type DeployInput, requireDeployRight } from './admission.js';
import { archiveDeployment } from './archive.js';
import { Deployment, type DeploymentStatus, terminalStatuses } from './entity.js';
import { appendEvent, finish } from './events.js';
import { createDeploymentPlanner } from './plan.js';
import { buildSnapshot, type DeploymentSnapshot } from './snapshot.js';
import type { DeploymentWaits } from './wait.js';

/** Dependencies of {@link createDeploymentService}. */
export interface DeploymentServiceOptions {
  now: Clock;
  keyRing: KeyRing;
  commands: CommandService;
  configuration: ConfigurationService;
  /** Waits for a deployment to end (a cancel answers with the outcome when the agent is quick). */
  waits: Pick<DeploymentWaits, 'untilTerminal'>;
  /** How long a deployment may take from dispatch to its result before it ends `failed` (default 15 min). */
  deadlineMs?: number;
  /** Seconds the previous container keeps serving requests in flight after traffic moved (default 2). */
  drainSeconds?: number;
}

/** Creating, retrying, redeploying, rolling back and canceling deployments (docs/deployments.md). */
export function createDeploymentService(options: DeploymentServiceOptions) {
  const { now, keyRing, commands, configuration, waits } = options;
  const deadlineMs = options.deadlineMs ?? 15 * 60_000;
  const drainSeconds = options.drainSeconds ?? 2;

  /** Persists the deployment with its snapshot and events, and queues the agent's command, in one transaction. */
  async function dispatch(
    tx: EntityManager,
    auth: Caller,
    admitted: Awaited<ReturnType<typeof admit>>,
    frozen: { snapshot: DeploymentSnapshot; sealedEnv: string },
    trigger: {
      kind: 'create' | 'retry' | 'redeploy' | 'rollback';
      sourceDeploymentId?: string;
      rollbackOfDeploymentId?: string;
    },
  ) {
    const at = now();
    const deployment = tx.create(Deployment, {
      id: newId('deployment'),
      organization: auth.organizationId,
      project: admitted.project.id,
      environment: admitted.environment.id,
      resource: admitted.resource.id,
      server: admitted.server.id,
      status: 'planned',
      triggerKind: trigger.kind,
      sourceDeploymentId: trigger.sourceDeploymentId ?? null,
      rollbackOfDeploymentId: trigger.rollbackOfDeploymentId ?? null,
      snapshot: frozen.snapshot,
      sealedEnv: frozen.sealedEnv,
      commandId: null,
      cancelCommandId: null,
      errorCode: null,
      errorMessage: null,
      directUrl: null,
      publicUrl: null,
      containerName: null,
      createdAt: at,
      startedAt: null,
      finishedAt: null,
      canceledAt: null,
      archivedAt: null,
      deadlineAt: new Date(at.getTime() + deadlineMs),
      updatedAt: at,
    });
    await tx.flush();
    const summary = `${trigger.kind === 'create' ? 'Deployment' : `A ${trigger.kind}`} of ${admitted.resource.name} (${frozen.snapshot.spec.image}) to ${admitted.server.name} was requested.`;
    await appendEvent(
      tx,
      deployment.id,
      { eventType: 'deployment-requested', phase: 'request', status: 'created', summary },
      at,
    );
    // The stored payload holds no values: the gateway adds the sealed environment, opened, as it sends the command.
    const payload: DeploymentApplyQueued = { deploymentId: deployment.id, drainSeconds, stopGraceSeconds: 10 };
    const command = await commands.enqueue(tx, admitted.server.id, commandKind.deploymentApply, payload, deadlineMs);
    deployment.commandId = command.id;
    await tx.flush();
    await appendEvent(
      tx,
      deployment.id,
      {
        eventType: 'deployment-planned',
        phase: 'plan',
        status: 'planned',
        summary: `Sent to the agent on ${admitted.server.name}; waiting for it to start.`,
      },
      at,
    );
    return deployment;
  }

  async function fromCurrentConfig(
    em: EntityManager,
    auth: Caller,
    input: DeployInput,
    trigger: Parameters<typeof dispatch>[4],
  ) {
    return em.transactional(async (tx) => {
      const admitted = await admit(tx, auth, input);
      const entries = await configuration.forResource(tx, admitted.environment.id, admitted.resource.id);
      const { snapshot, env } = buildSnapshot({ ...admitted, entries, reveal: configuration.reveal, at: now() });
      const deployment = await dispatch(
        tx,
        auth,
        admitted,
        { snapshot, sealedEnv: keyRing.seal(JSON.stringify(env)) },
        trigger,
      );
      return { id: deployment.id };
    });
  }

  async function load(em: EntityManager, auth: Caller, deploymentId: string): Promise<Deployment> {
    const deployment = await em.findOne(Deployment, { id: deploymentId, organization: auth.organizationId });
    if (deployment === null) throw notFound('Deployment', deploymentId, 'deploymentId');
    requireInScope(
      auth,
      {
        projectId: deployment.project.id,
        environmentId: deployment.environment.id,
        resourceId: deployment.resource.id,
      },
      `deployment "${deploymentId}"`,
    );
    return deployment;
  }

  const inputOf = (d: Deployment, serverId = d.server.id): DeployInput => ({
    projectId: d.project.id,
    environmentId: d.environment.id,
    resourceId: d.resource.id,
    serverId,
  });

  const planner = createDeploymentPlanner({ now, configuration });

  return {
    load,

    /** `GET /deployments/plan`: what `create` would do, without writing anything (plan.ts). */
    plan: planner.plan,

    /** `POST /deployments/{id}/archive`: hide a deployment that ended from the list (archive.ts). */
    async archive(em: EntityManager, auth: Caller, deploymentId: string, confirm: string) {
      return archiveDeployment(em, auth, { deploymentId, confirm }, { now, load });
    },

    /** `POST /deployments`: snapshot the resource's configuration now and hand it to the server's agent. */
    async create(em: EntityManager, auth: Caller, input: DeployInput) {
      requireDeployRight(auth, input, 'deploy');
      return fromCurrentConfig(em, auth, input, { kind: 'create' });
    },

    /** `POST /resources/{id}/redeploy`: the resource's current configuration, on the server of its latest deployment. */
    async redeploy(em: EntityManager, auth: Caller, resourceId: string, serverId?: string) {
      // An unknown resource is NOT_FOUND, like on every sibling route, before anything is said about its deployments.
      const resource = await em.findOne(Resource, { id: resourceId, organization: auth.organizationId });
      if (resource === null) throw notFound('Resource', resourceId, 'resourceId');
      const latest = await em.findOne(
        Deployment,
        { resource: resourceId, organization: auth.organizationId },
        { orderBy: { createdAt: 'desc' } },
      );
      if (latest === null && serverId === undefined) {
        throw conflict(
          `Resource "${resourceId}" has never been deployed, so there is no server to redeploy it to.`,
          'Deploy it first with POST /deployments {projectId, environmentId, resourceId, serverId}.',
        );
      }
      const input = {
        projectId: resource.project.id,
        environmentId: resource.environment.id,
        resourceId,
        serverId: serverId ?? latest!.server.id,
      };
      requireDeployRight(auth, input, 'redeploy');
      return fromCurrentConfig(em, auth, input, {
        kind: 'redeploy',
        ...(latest ? { sourceDeploymentId: latest.id } : {}),
      });
    },

    /** `POST /deployments/{id}/retry`: the same snapshot again, for a deployment that did not succeed. */
    async retry(em: EntityManager, auth: Caller, deploymentId: string) {
      const source = await load(em, auth, deploymentId);
      if (!terminalStatuses.includes(source.status) || source.status === 'succeeded') {
        throw conflict(
          `Deployment "${deploymentId}" is ${source.status}: only a failed, canceled or interrupted deployment is retried.`,
          source.status === 'succeeded'
            ? `Redeploy the resource with POST /resources/${source.resource.id}/redeploy.`
            : `Wait for it to end (GET /deployments/${deploymentId}/events/stream).`,
        );
      }
      requireDeployRight(auth, inputOf(source), 'deploy');
      return em.transactional(async (tx) => {
        const admitted = await admit(tx, auth, inputOf(source));
        const deployment = await dispatch(
          tx,
          auth,
          admitted,
          { snapshot: source.snapshot, sealedEnv: source.sealedEnv },
          { kind: 'retry', sourceDeploymentId: source.id },
        );
        return { id: deployment.id };
      });
    },

    /** `POST /deployments/{id}/rollback`: run the snapshot of an earlier successful deployment of the same resource. */
    async rollback(em: EntityManager, auth: Caller, deploymentId: string, candidateId: string | undefined) {
      const current = await load(em, auth, deploymentId);
      const candidate = candidateId
        ? await em.findOne(Deployment, { id: candidateId, organization: auth.organizationId })
        : await em.findOne(
            Deployment,
            { resource: current.resource.id, status: 'succeeded', createdAt: { $lt: current.createdAt } },
            { orderBy: { createdAt: 'desc' } },
          );
      if (candidate === null) {
        throw conflict(
          `Deployment "${deploymentId}" has no earlier successful deployment to roll back to.`,
          candidateId
            ? `Deployment "${candidateId}" was not found.`
            : 'A rollback needs an earlier deployment of the resource that succeeded; deploy a known-good image instead.',
        );
      }
      if (
        candidate.resource.id !== current.resource.id ||
        candidate.status !== 'succeeded' ||
        candidate.id === current.id
      ) {
        throw new AppError(
          'validation_failed',
          `Deployment "${candidate.id}" is not an earlier successful deployment of this resource.`,
          {
            field: 'rollbackCandidateDeploymentId',
            hint: `GET /deployments/${deploymentId}/recovery-readiness lists the candidates.`,
          },
        );
      }
      requireDeployRight(auth, inputOf(current, candidate.server.id), 'rollback');
      return em.transactional(async (tx) => {
        const admitted = await admit(tx, auth, inputOf(current, candidate.server.id));
        const deployment = await dispatch(
          tx,
          auth,
          admitted,
          { snapshot: candidate.snapshot, sealedEnv: candidate.sealedEnv },
          { kind: 'rollback', sourceDeploymentId: candidate.id, rollbackOfDeploymentId: current.id },
        );
        return { id: deployment.id };
      });
    },

    /**
     * `POST /deployments/{id}/cancel`: refused for a deployment that has ended. One the agent has not picked up
     * is canceled at once; otherwise the agent is asked to stop it, and its answer ends it `canceled`.
     */
    async cancel(em: EntityManager, auth: Caller, deploymentId: string, confirm: string) {
      requireConfirm(deploymentId, confirm, 'deployment being canceled');
      const deployment = await load(em, auth, deploymentId);
      if (terminalStatuses.includes(deployment.status)) {
        throw conflict(
          `Deployment "${deploymentId}" already ended ${deployment.status}: there is nothing to cancel.`,
          `Roll back with POST /deployments/${deploymentId}/rollback, or redeploy the resource.`,
          { status: deployment.status },
        );
      }
      await em.transactional(async (tx) => {
        const locked = await tx.findOneOrFail(Deployment, deploymentId, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (terminalStatuses.includes(locked.status) || locked.status === 'cancel-requested') return;
        const at = now();
        // A command still queued is withdrawn: the agent never sees it.
        const withdrawn = locked.commandId
          ? await commands.withdraw(tx, locked.commandId, 'canceled', 'canceled before it was sent')
          : false;
        if (withdrawn) {
          await finish(
            tx,
            locked,
            'canceled',
            { code: 'canceled', message: 'Canceled before the agent started it.' },
            at,
          );
          return;
        }
        locked.status = 'cancel-requested';
        locked.canceledAt = at;
        locked.updatedAt = at;
        const command = await commands.enqueue(
          tx,
          locked.server.id,
          commandKind.deploymentCancel,
          { deploymentId },
          60_000,
        );
        locked.cancelCommandId = command.id;
        await tx.flush();
        await appendEvent(
          tx,
          deploymentId,
          {
            eventType: 'deployment-cancel-requested',
            phase: 'cancel',
            status: 'cancel-requested',
            summary: 'Cancel requested; the agent stops the deployment and removes its new container.',
          },
          at,
        );
      });
      // The agent usually answers within a second or two; the caller gets the outcome when it does.
      const seen = await waits.untilTerminal(em, deploymentId, 10_000);
      return {
        id: deploymentId,
        status: seen.status as DeploymentStatus,
        canceledAt: (seen.canceledAt ?? seen.finishedAt ?? now()).toISOString(),
      };
    },
  };
}

/** The deployment service's type. */
export type DeploymentService = ReturnType<typeof createDeploymentService>;
