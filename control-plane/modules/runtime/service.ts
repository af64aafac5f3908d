import type { EntityManager } from '@mikro-orm/postgresql';
import { commandKind } from '../../../shared/command-catalogue.js';
import { AppError } from '../../../shared/errors.js';
import type {
  RuntimeControlPayload,
  RuntimeControlResult,
  RuntimeInspectPayload,
  RuntimeInspectResult,
} from '../../../shared/runtime-command.js';
import type { Clock } from '../../../shared/time.js';
import type { AgentCommand } from '../agent-commands/entity.js';
import type { CommandService } from '../agent-commands/service.js';
import { Deployment } from '../deployments/entity.js';
import { appendEvent } from '../deployments/events.js';
import type { Caller } from '../identity/auth-context.js';
import type { ResourceService } from '../resources/service.js';
import { Server } from '../servers/entity.js';
import { desiredStateOf, setDesiredRuntime } from './desired-state.js';

/** Dependencies of {@link createRuntimeService}. */
export interface RuntimeServiceOptions {
  now: Clock;
  commands: CommandService;
  resources: ResourceService;
  /** How long a control or a live probe may wait for the agent before answering with what is known. */
  waitMs?: number;
}

type Operation = RuntimeControlPayload['operation'];

/** The deployment whose container is the resource's runtime: the latest that succeeded. */
export async function currentDeployment(em: EntityManager, resourceId: string): Promise<Deployment | null> {
  return em.findOne(Deployment, { resource: resourceId, status: 'succeeded' }, { orderBy: { finishedAt: 'desc' } });
}

/** The seed's runtime-control attempt, from the agent command that carried it. */
export function toAttempt(command: AgentCommand) {
  const operation = (command.payload['operation'] as Operation) ?? 'restart';
  const ended = command.state === 'succeeded' || command.state === 'failed' || command.state === 'expired';
  const status = command.state === 'succeeded' ? 'succeeded' : ended ? 'failed' : 'accepted';
  const result = (command.result ?? null) as RuntimeControlResult | null;
  return {
    runtimeControlAttemptId: command.id,
    operation,
    status,
    startedAt: command.issuedAt.toISOString(),
    completedAt: command.completedAt?.toISOString() ?? null,
    runtimeState: result?.runtimeState ?? (ended ? 'unknown' : operation === 'stop' ? 'stopping' : 'starting'),
    blockedReason: null,
    errorCode: command.errorCode ?? (command.state === 'expired' ? 'deadline_exceeded' : null),
    errorMessage: command.errorMessage ?? (command.state === 'expired' ? 'The agent did not answer in time.' : null),
    phases: [
      { phase: operation, status: status === 'accepted' ? 'pending' : status, errorCode: command.errorCode ?? null },
    ],
  };
}

/** Runtime controls (stop, start, restart) and the resource's health as the agent sees it now. */
export function createRuntimeService({ now, commands, resources, waitMs = 30_000 }: RuntimeServiceOptions) {
  async function target(em: EntityManager, auth: Caller, resourceId: string, action: string) {
    const { resource } = await resources.load(em, auth, resourceId);
    if (resource.lifecycleStatus === 'archived') {
      throw new AppError('conflict', `Resource "${resource.name}" is archived: ${action} is not allowed.`, {
        details: { blockedReason: 'resource-archived' },
      });
    }
    const deployment = await currentDeployment(em, resourceId);
    if (deployment === null) {
      throw new AppError('conflict', `Resource "${resource.name}" has no running deployment to ${action}.`, {
        hint: 'Deploy it first with POST /deployments.',
        details: { blockedReason: 'not-deployed' },
      });
    }
    const server = await em.findOneOrFail(Server, deployment.server.id);
    return { resource, deployment, server };
  }

  const targetOf = (deployment: Deployment) => ({
    resourceId: deployment.resource.id,
    deploymentId: deployment.id,
    internalPort: deployment.snapshot.spec.internalPort,
    preferredListenPort: deployment.snapshot.spec.preferredListenPort,
    health: deployment.snapshot.spec.health,
  });

  return {
    /** Stops, starts or restarts the resource's container; answers when the agent has (or after `waitMs`, `accepted`). */
    async control(em: EntityManager, auth: Caller, resourceId: string, operation: Operation) {
      const { deployment, server } = await target(em, auth, resourceId, `${operation} the runtime`);
      if (server.connectionState !== 'connected') {
        throw new AppError(
          'conflict',
          `Server "${server.name}" is ${server.connectionState}: its agent cannot ${operation} the runtime now.`,
          {
            hint: `Check the agent (GET /servers/${server.id}).`,
            details: { blockedReason: 'server-unreachable', connectionState: server.connectionState },
          },
        );
      }
      const payload: RuntimeControlPayload = { ...targetOf(deployment), operation, stopGraceSeconds: 10 };
      // The desired state changes first: the agent's reconciliation must not undo the operation while it runs.
      const wanted = operation === 'stop' ? 'stopped' : 'running';
      const before =
        (await desiredStateOf(em, server.id))?.document.runtimes.find((r) => r.resourceId === resourceId)?.state ??
        'running';
      await setDesiredRuntime(em.fork(), server.id, { ...targetOf(deployment), state: wanted }, now());
      // The command's deadline bounds the wait: an agent that cannot answer in time leaves the attempt failed.
      const command = await commands.enqueue(em, server.id, commandKind.runtimeControl, payload, waitMs);
      const outcome = await commands.waitForOutcome(em.fork(), command);
      const row = await commands.find(em.fork(), command.id);
      if (row === null) throw new AppError('internal', `Command "${command.id}" vanished.`);
      if (outcome.state === 'succeeded') {
        const result = outcome.result;
        const done = operation === 'stop' ? 'stopped' : operation === 'start' ? 'started' : 'restarted';
        await appendEvent(
          em.fork(),
          deployment.id,
          {
            eventType: `runtime-${operation}`,
            phase: 'runtime',
            status: deployment.status,
            summary: `Runtime ${done} (${result.containerName}).`,
            source: 'berth',
          },
          now(),
        );
      } else if (before !== wanted) {
        await setDesiredRuntime(em.fork(), server.id, { ...targetOf(deployment), state: before }, now());
      }
      return toAttempt(row);
    },

    /** The latest runtime control of the resource, or null. */
    async latestControl(em: EntityManager, resourceId: string) {
      const latest = await commands.latest(em, commandKind.runtimeControl, 'resourceId', resourceId);
      return latest ? toAttempt(latest) : null;
    },

    /** Asks the agent for the container's state and one health probe; null when it cannot answer in time. */
    async inspect(em: EntityManager, deployment: Deployment): Promise<RuntimeInspectResult | { error: string }> {
      const server = await em.findOneOrFail(Server, deployment.server.id);
      if (server.connectionState !== 'connected')
        return { error: `server ${server.name} is ${server.connectionState}` };
      const payload: RuntimeInspectPayload = targetOf(deployment);
      const command = await commands.enqueue(
        em,
        server.id,
        commandKind.runtimeInspect,
        payload,
        Math.min(waitMs, 10_000),
      );
      const outcome = await commands.waitForOutcome(em.fork(), command);
      if (outcome.state !== 'succeeded')
        return { error: outcome.errorMessage ?? `the agent did not answer (${outcome.state})` };
      return outcome.result;
    },
  };
}

/** The runtime service's type. */
export type RuntimeService = ReturnType<typeof createRuntimeService>;
