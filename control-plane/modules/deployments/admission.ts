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

/** Whether a deployment may start: the rules of docs/deployments.md, each refusal with the way out. */

/** A deploy request: the seed's four ids (the resource already fixes project and environment: they must agree). */
export interface DeployInput {
  projectId: string;
  environmentId: string;
  resourceId: string;
  serverId: string;
}

export const conflict = (message: string, hint: string, details?: Record<string, string>) =>
  new AppError('conflict', message, details === undefined ? { hint } : { hint, details });

export /** A deploy token may deploy only what its scope lists, and only when it holds the workflow command. */
function requireDeployRight(auth: Caller, input: DeployInput, command: 'deploy' | 'redeploy' | 'rollback'): void {
  requireInScope(
    auth,
    { projectId: input.projectId, environmentId: input.environmentId, resourceId: input.resourceId },
    `resource "${input.resourceId}"`,
  );
  if (auth.kind !== 'deploy-token') return;
  const { deploymentTargetIds, workflowCommands } = auth.scope;
  if (deploymentTargetIds.length > 0 && !deploymentTargetIds.includes(input.serverId)) {
    throw new AppError('forbidden_scope', `This deploy token may not deploy to server "${input.serverId}".`, {
      field: 'serverId',
      hint: 'Use a server listed in the token scope.deploymentTargetIds.',
    });
  }
  if (!workflowCommands.includes(command) && !(command === 'redeploy' && workflowCommands.includes('deploy'))) {
    throw new AppError('forbidden_scope', `This deploy token does not hold the "${command}" workflow command.`, {
      hint: `Create a token whose scope.workflowCommands includes "${command}".`,
    });
  }
}

/** Checks everything a deployment needs, under a row lock on the resource so two requests cannot both start one. */
export async function admit(tx: EntityManager, auth: Caller, input: DeployInput) {
  const resource = await tx.findOne(
    Resource,
    { id: input.resourceId, organization: auth.organizationId },
    { lockMode: LockMode.PESSIMISTIC_WRITE },
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
  const environment = await tx.findOneOrFail(Environment, resource.environment.id);
  const project = await tx.findOneOrFail(Project, resource.project.id);
  requireChangeable(environment, project, 'deploying');
  if (resource.lifecycleStatus === 'archived') {
    throw conflict(
      `Resource "${resource.name}" is archived: it cannot be deployed.`,
      'Create a new resource to deploy again.',
    );
  }
  if (resource.source === null) {
    throw conflict(
      `Resource "${resource.name}" has no source: there is nothing to deploy.`,
      `Set one with POST /resources/${resource.id}/source, e.g. {"source": {"kind": "docker-image", "locator": "nginx:1.27"}}.`,
    );
  }
  const server = await tx.findOne(Server, { id: input.serverId, organization: auth.organizationId });
  if (server === null) throw notFound('Server', input.serverId, 'serverId');
  if (server.lifecycleStatus !== 'active') {
    throw conflict(
      `Server "${server.name}" is deactivated: it takes no deployments.`,
      'Deploy to an active server (GET /servers).',
    );
  }
  if (server.connectionState !== 'connected') {
    throw conflict(
      `Server "${server.name}" is ${server.connectionState === 'unreachable' ? 'unreachable' : 'not connected yet'}: its agent would not receive the deployment.`,
      `Check the agent on the server (GET /servers/${server.id}); deploy once it shows connectionState "connected".`,
      { serverId: server.id, connectionState: server.connectionState },
    );
  }
  const running = await tx.findOne(Deployment, { resource: resource.id, status: { $in: [...activeStatuses] } });
  if (running !== null) {
    throw conflict(
      `Resource "${resource.name}" already has a deployment under way (${running.id}, ${running.status}).`,
      `Wait for it (GET /deployments/${running.id}/events/stream) or cancel it with POST /deployments/${running.id}/cancel.`,
      { activeDeploymentId: running.id },
    );
  }
  return { resource, environment, project, server };
}
