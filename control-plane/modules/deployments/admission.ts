import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { Environment } from '../environments/entity.js';
import { requireChangeable } from '../environments/service.js';
import type { Caller } from '../identity/auth-context.js';
import { requireInScope } from '../identity/token-scope.js';
import { Project } from '../projects/entity.js';
import { Resource } from '../resources/entity.js';
import { Server } from '../servers/entity.js';
import { activeStatuses, Deployment } from './entity.js';

/**
 * Whether a deployment may start: the rules of docs/deployments.md, each refusal with the way out. `admit` throws the
 * first rule broken (for the deploying calls); `inspectDeploy` collects them all (for the plan and recovery readiness),
 * so what a preview reports is exactly what a deploy would refuse.
 */

/** A deploy request: the seed's four ids (the resource already fixes project and environment: they must agree). */
export interface DeployInput {
  projectId: string;
  environmentId: string;
  resourceId: string;
  serverId: string;
}

export const conflict = (message: string, hint: string, details?: Record<string, string>) =>
  new AppError('conflict', message, details === undefined ? { hint } : { hint, details });

/** The reason codes of the admission rules, as the plan's `readiness.reasonCodes` and recovery reasons name them. */
export type BlockerCode =
  | 'project-archived'
  | 'environment-locked'
  | 'environment-archived'
  | 'resource-archived'
  | 'resource-source-missing'
  | 'server-deactivated'
  | 'server-unreachable'
  | 'deployment-in-progress';

/** One admission rule a deployment breaks: the envelope `admit` throws for it, and what it is about. */
export interface Blocker {
  reasonCode: BlockerCode;
  error: AppError;
  relatedEntityType: 'project' | 'environment' | 'resource' | 'server' | 'deployment';
  relatedEntityId: string;
  /** True when it may clear by itself (a server reconnecting, a deployment ending); false when someone must act. */
  retriable: boolean;
}

/** A deploy token may only target the servers its scope lists (or any, when the list is empty). */
export function requireServerInScope(auth: Caller, serverId: string): void {
  if (auth.kind !== 'deploy-token') return;
  const { deploymentTargetIds } = auth.scope;
  if (deploymentTargetIds.length > 0 && !deploymentTargetIds.includes(serverId)) {
    throw new AppError('forbidden_scope', `This deploy token may not deploy to server "${serverId}".`, {
      field: 'serverId',
      hint: 'Use a server listed in the token scope.deploymentTargetIds.',
    });
  }
}

export /** A deploy token may deploy only what its scope lists, and only when it holds the workflow command. */
function requireDeployRight(auth: Caller, input: DeployInput, command: 'deploy' | 'redeploy' | 'rollback'): void {
  requireInScope(
    auth,
    { projectId: input.projectId, environmentId: input.environmentId, resourceId: input.resourceId },
    `resource "${input.resourceId}"`,
  );
  if (auth.kind !== 'deploy-token') return;
  requireServerInScope(auth, input.serverId);
  const { workflowCommands } = auth.scope;
  if (!workflowCommands.includes(command) && !(command === 'redeploy' && workflowCommands.includes('deploy'))) {
    throw new AppError('forbidden_scope', `This deploy token does not hold the "${command}" workflow command.`, {
      hint: `Create a token whose scope.workflowCommands includes "${command}".`,
    });
  }
}

/** The rules about what is deployed, in the order `admit` applies them: project, environment, resource. */
export function targetBlockers(target: { project: Project; environment: Environment; resource: Resource }): Blocker[] {
  const { project, environment, resource } = target;
  const blockers: Blocker[] = [];
  try {
    requireChangeable(environment, project, 'deploying');
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    // requireChangeable reports the first of these; fixing it shows the next one.
    const projectArchived = project.lifecycleStatus === 'archived';
    blockers.push({
      reasonCode: projectArchived
        ? 'project-archived'
        : environment.lifecycleStatus === 'locked'
          ? 'environment-locked'
          : 'environment-archived',
      error,
      relatedEntityType: projectArchived ? 'project' : 'environment',
      relatedEntityId: projectArchived ? project.id : environment.id,
      retriable: false,
    });
  }
  const about = { relatedEntityType: 'resource', relatedEntityId: resource.id, retriable: false } as const;
  if (resource.lifecycleStatus === 'archived') {
    blockers.push({
      ...about,
      reasonCode: 'resource-archived',
      error: conflict(
        `Resource "${resource.name}" is archived: it cannot be deployed.`,
        'Create a new resource to deploy again.',
      ),
    });
  }
  if (resource.source === null) {
    blockers.push({
      ...about,
      reasonCode: 'resource-source-missing',
      error: conflict(
        `Resource "${resource.name}" has no source: there is nothing to deploy.`,
        `Set one with POST /resources/${resource.id}/source, e.g. {"source": {"kind": "docker-image", "locator": "nginx:1.27"}}.`,
      ),
    });
  }
  return blockers;
}

/** The rules about the server deployed to: active, and its agent connected. */
export function serverBlockers(server: Server): Blocker[] {
  const about = { relatedEntityType: 'server', relatedEntityId: server.id } as const;
  if (server.lifecycleStatus !== 'active') {
    return [
      {
        ...about,
        reasonCode: 'server-deactivated',
        retriable: false,
        error: conflict(
          `Server "${server.name}" is deactivated: it takes no deployments.`,
          'Deploy to an active server (GET /servers).',
        ),
      },
    ];
  }
  if (server.connectionState !== 'connected') {
    return [
      {
        ...about,
        reasonCode: 'server-unreachable',
        retriable: true,
        error: conflict(
          `Server "${server.name}" is ${server.connectionState === 'unreachable' ? 'unreachable' : 'not connected yet'}: its agent would not receive the deployment.`,
          `Check the agent on the server (GET /servers/${server.id}); deploy once it shows connectionState "connected".`,
          { serverId: server.id, connectionState: server.connectionState },
        ),
      },
    ];
  }
  return [];
}

/** The deployment of a resource still under way, if any (there is at most one). */
export async function activeDeploymentOf(em: EntityManager, resourceId: string): Promise<Deployment | null> {
  return em.findOne(Deployment, { resource: resourceId, status: { $in: [...activeStatuses] } });
}

/** The rule that a resource has one deployment under way at a time: we refuse rather than queue. */
export function inProgressBlocker(resource: Resource, running: Deployment): Blocker {
  return {
    reasonCode: 'deployment-in-progress',
    relatedEntityType: 'deployment',
    relatedEntityId: running.id,
    retriable: true,
    error: conflict(
      `Resource "${resource.name}" already has a deployment under way (${running.id}, ${running.status}).`,
      `Wait for it (GET /deployments/${running.id}/events/stream) or cancel it with POST /deployments/${running.id}/cancel.`,
      { activeDeploymentId: running.id },
    ),
  };
}

/** Finds the resource (404) and checks that the request names its own project and environment (400). */
async function findResource(em: EntityManager, auth: Caller, input: DeployInput, lock: boolean): Promise<Resource> {
  const resource = await em.findOne(
    Resource,
    { id: input.resourceId, organization: auth.organizationId },
    lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {},
  );
  if (resource === null) throw notFound('Resource', input.resourceId, 'resourceId');
  if (resource.project.id !== input.projectId) {
    throw new AppError(
      'validation_failed',
      `Resource "${resource.id}" belongs to project "${resource.project.id}", not "${input.projectId}".`,
      { field: 'projectId', hint: 'Send the resource’s own project and environment ids.' },
    );
  }
  if (resource.environment.id !== input.environmentId) {
    throw new AppError(
      'validation_failed',
      `Resource "${resource.id}" is in environment "${resource.environment.id}", not "${input.environmentId}".`,
      { field: 'environmentId', hint: 'Send the resource’s own project and environment ids.' },
    );
  }
  return resource;
}

async function findServer(em: EntityManager, auth: Caller, serverId: string): Promise<Server> {
  const server = await em.findOne(Server, { id: serverId, organization: auth.organizationId });
  if (server === null) throw notFound('Server', serverId, 'serverId');
  return server;
}

/** Checks everything a deployment needs, under a row lock on the resource so two requests cannot both start one. */
export async function admit(tx: EntityManager, auth: Caller, input: DeployInput) {
  const resource = await findResource(tx, auth, input, true);
  const environment = await tx.findOneOrFail(Environment, resource.environment.id);
  const project = await tx.findOneOrFail(Project, resource.project.id);
  const [target] = targetBlockers({ project, environment, resource });
  if (target) throw target.error;
  const server = await findServer(tx, auth, input.serverId);
  const [unfit] = serverBlockers(server);
  if (unfit) throw unfit.error;
  const running = await activeDeploymentOf(tx, resource.id);
  if (running !== null) throw inProgressBlocker(resource, running).error;
  return { resource, environment, project, server };
}

/**
 * The same checks as {@link admit} without a lock and without refusing: unknown ids and ids that disagree still
 * throw (404, 400), every broken rule is returned, in `admit`'s order. Nothing is written.
 */
export async function inspectDeploy(em: EntityManager, auth: Caller, input: DeployInput) {
  const resource = await findResource(em, auth, input, false);
  const environment = await em.findOneOrFail(Environment, resource.environment.id);
  const project = await em.findOneOrFail(Project, resource.project.id);
  const server = await findServer(em, auth, input.serverId);
  const running = await activeDeploymentOf(em, resource.id);
  const blockers = [
    ...targetBlockers({ project, environment, resource }),
    ...serverBlockers(server),
    ...(running === null ? [] : [inProgressBlocker(resource, running)]),
  ];
  return { resource, environment, project, server, running, blockers };
}
