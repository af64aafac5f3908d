import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type CommandPayload,
  type CommandResultOf,
  checkEventAttributes,
  commandKind,
  type EventAttributes,
  type EventKind,
  eventKind,
  isEventKind,
} from '../../../shared/command-catalogue.js';
import type { DeploymentApplyQueued } from '../../../shared/deployment-command.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { AgentLinkHooks } from '../../agent-gateway/hooks.js';
import { knexOf } from '../../db/knex.js';
import type { KeyRing } from '../../secrets/key-ring.js';
import type { CommandService } from '../agent-commands/service.js';
import { desiredStateOf, setDesiredRuntime } from '../runtime/desired-state.js';
import { Server } from '../servers/entity.js';
import { activeStatuses, Deployment, terminalStatuses } from './entity.js';
import { appendEvent, appendLogLines, finish } from './events.js';
import { deploymentSecretValues, maskSecrets as mask } from './secret-values.js';

/** An event from an agent, as the gateway hands it over. */
export interface AgentEventInput {
  kind: string;
  observedAt: Date;
  attributes: Record<string, string>;
}

/** Dependencies of {@link createDeploymentAgentLink}. */
export interface DeploymentAgentLinkOptions {
  now: Clock;
  keyRing: KeyRing;
  log: Logger;
  /** Queues the clean-up of a deployment given up on, for when its agent is back. */
  commands: Pick<CommandService, 'enqueue' | 'find' | 'expiredAmong'>;
  /**
   * The URL users reach a resource at through the edge proxy of a server (its domain binding's, else its generated
   * name), or null when no route serves it there. Without it, a deployment has only its direct URL.
   */
  publicUrl?: (em: EntityManager, serverId: string, resourceId: string) => Promise<string | null>;
}

const maxLogLine = 8_000;

/**
 * The deployments' side of the agent link: fills `deployment.apply` payloads as they are sent (the only place the
 * sealed environment is opened), turns agent events into deployment events and log lines (secret values masked),
 * ends deployments when their command ends, and ends the ones whose deadline passed.
 */
export function createDeploymentAgentLink({ now, keyRing, log, commands, publicUrl }: DeploymentAgentLinkOptions) {
  const secretValuesOf = (deployment: Deployment) => deploymentSecretValues(keyRing, deployment);

  async function deploymentOf(em: EntityManager, serverId: string, deploymentId: string | undefined) {
    if (!deploymentId) return null;
    const deployment = await em.findOne(Deployment, { id: deploymentId, server: serverId });
    if (deployment === null)
      log.warn({ serverId, deploymentId }, 'an agent reported on a deployment that is not its own');
    return deployment;
  }

  return {
    /** The payload that goes on the wire for a command; only `deployment.apply` is filled in. */
    async expandPayload(em: EntityManager, command: { kind: string; payload: Record<string, unknown> }) {
      if (command.kind !== commandKind.deploymentApply) return command.payload;
      const queued = command.payload as DeploymentApplyQueued;
      const deployment = await em.findOneOrFail(Deployment, queued.deploymentId);
      const { envKeys: _keys, preferredListenPort, ...spec } = deployment.snapshot.spec;
      const payload: CommandPayload<typeof commandKind.deploymentApply> = {
        spec: { ...spec, deploymentId: deployment.id, env: JSON.parse(keyRing.open(deployment.sealedEnv)) },
        preferredListenPort,
        drainSeconds: queued.drainSeconds,
        stopGraceSeconds: queued.stopGraceSeconds,
      };
      return payload;
    },

    async onAgentEvent(em: EntityManager, serverId: string, event: AgentEventInput): Promise<void> {
      const typed = typedEvent(event);
      if (typed === null) {
        log.warn({ serverId, kind: event.kind }, 'ignored an agent event whose attributes do not match its kind');
        return;
      }
      if (typed.kind === eventKind.deploymentProgress) {
        const a = typed.attributes;
        const deployment = await deploymentOf(em, serverId, a.deploymentId);
        if (deployment === null) return;
        if (a.eventType === 'deployment-started' && deployment.status === 'planned') {
          deployment.status = 'running';
          deployment.startedAt = event.observedAt;
          deployment.updatedAt = now();
          await em.flush();
        }
        await appendEvent(
          em,
          deployment.id,
          {
            eventType: a.eventType,
            phase: a.phase ?? 'runtime',
            status: terminalStatuses.includes(deployment.status) ? deployment.status : (a.status ?? deployment.status),
            summary: mask(a.summary, secretValuesOf(deployment)).message,
            source: a.source ?? 'docker',
            retriable: a.retriable === 'true',
            emittedAt: event.observedAt,
          },
          now(),
        );
      } else if (typed.kind === eventKind.deploymentLog) {
        const a = typed.attributes;
        const deployment = await deploymentOf(em, serverId, a.deploymentId);
        if (deployment === null) return;
        const { message, masked } = mask(a.message.slice(0, maxLogLine), secretValuesOf(deployment));
        const at = new Date(a.at ?? event.observedAt);
        await appendLogLines(em, deployment.id, [
          {
            timestamp: Number.isNaN(at.getTime()) ? event.observedAt : at,
            source: a.source ?? 'application',
            phase: a.phase ?? 'verify',
            level: a.level ?? 'info',
            message,
            masked,
          },
        ]);
      } else if (typed.kind === eventKind.runtimeDrift) {
        const a = typed.attributes;
        // Drift shows in the deployment's events (and so in the resource's health), on the deployment it concerns.
        const deployment = await deploymentOf(em, serverId, a.deploymentId);
        if (deployment === null) return;
        log.warn({ serverId, deploymentId: deployment.id, drift: a.drift, action: a.action }, 'runtime drift');
        await appendEvent(
          em,
          deployment.id,
          {
            eventType: 'runtime-drift',
            phase: 'runtime',
            status: deployment.status,
            summary: a.message,
            source: 'docker',
            emittedAt: event.observedAt,
          },
          now(),
        );
      } else {
        log.info(
          { serverId, kind: event.kind, observedAt: event.observedAt.toISOString(), attributes: event.attributes },
          'agent event',
        );
      }
    },

    /** Ends the deployment whose `deployment.apply` command just ended. */
    async onCommandCompleted(em: EntityManager, commandId: string): Promise<void> {
      const deployment = await em.findOne(Deployment, { commandId });
      if (deployment === null || terminalStatuses.includes(deployment.status)) return;
      const command = await commands.find(em, commandId);
      if (command === null) return;
      const at = now();
      if (command.state === 'succeeded') {
        // Checked against the catalogue's result schema when it was stored.
        const result = command.result as CommandResultOf<typeof commandKind.deploymentApply>;
        deployment.directUrl = result.accessUrl;
        deployment.containerName = result.containerName;
        const spec = deployment.snapshot.spec;
        const runtime = {
          resourceId: deployment.resource.id,
          deploymentId: deployment.id,
          internalPort: spec.internalPort,
          preferredListenPort: spec.preferredListenPort,
          health: spec.health,
        };
        // The desired runtime first: the edge plan that names the public URL routes what the server should run.
        await setDesiredRuntime(em, deployment.server.id, { ...runtime, state: 'running' }, at);
        // A fork: the desired state was written around this em's identity map.
        deployment.publicUrl = (await publicUrl?.(em.fork(), deployment.server.id, deployment.resource.id)) ?? null;
        const url = deployment.publicUrl ?? deployment.directUrl;
        const where = url ? ` It answers at ${url}.` : '';
        await finish(em, deployment, 'succeeded', { message: `The new container is healthy and serving.${where}` }, at);
        if (deployment.rollbackOfDeploymentId) {
          await knexOf(em)('deployments')
            .where({ id: deployment.rollbackOfDeploymentId })
            .whereIn('status', ['succeeded', 'failed'])
            .update({ status: 'rolled-back', updated_at: at });
        }
      } else if (command.errorCode === 'canceled') {
        await finish(
          em,
          deployment,
          'canceled',
          { code: 'canceled', message: command.errorMessage ?? 'Canceled.' },
          at,
        );
      } else {
        await finish(
          em,
          deployment,
          'failed',
          { code: command.errorCode ?? 'failed', message: command.errorMessage ?? 'The agent reported a failure.' },
          at,
        );
      }
    },

    /**
     * Ends deployments that can no longer end by themselves: their command expired unanswered or their deadline
     * passed. The reason says which, and whether the server was reachable.
     */
    async sweep(em: EntityManager): Promise<number> {
      const at = now();
      const stale = await em.find(
        Deployment,
        { status: { $in: [...activeStatuses] }, deadlineAt: { $lt: at } },
        { limit: 100 },
      );
      const active = await em.find(
        Deployment,
        { status: { $in: [...activeStatuses] }, commandId: { $ne: null } },
        { fields: ['id', 'commandId'] },
      );
      const expiredCommands = new Set(
        await commands.expiredAmong(
          em,
          active.map((d) => d.commandId as string),
        ),
      );
      const expiredIds = active.filter((d) => expiredCommands.has(d.commandId as string)).map((d) => d.id);
      const expired =
        expiredIds.length === 0 ? [] : await em.find(Deployment, { id: { $in: expiredIds } }, { limit: 100 });
      const ended = new Set<string>();
      for (const deployment of [...stale, ...expired]) {
        if (ended.has(deployment.id)) continue;
        ended.add(deployment.id);
        const server = await em.findOne(Server, deployment.server.id, { fields: ['connectionState'] });
        const reachable = server?.connectionState === 'connected';
        await finish(
          em,
          deployment,
          reachable ? 'failed' : 'interrupted',
          {
            code: 'deadline_exceeded',
            message: reachable
              ? 'The agent did not report a result before the deployment deadline.'
              : 'The server’s agent was not reachable before the deployment deadline; nothing more is known about the runtime.',
          },
          at,
        );
        // When the agent is back it stops the attempt if it still runs, and removes a container it left behind.
        await commands.enqueue(
          em,
          deployment.server.id,
          commandKind.deploymentCancel,
          { deploymentId: deployment.id },
          7 * 24 * 3600_000,
        );
      }
      return ended.size;
    },
  };
}

type TypedEvent = { [K in EventKind]: { kind: K; attributes: EventAttributes<K> } }[EventKind];

/** The event with its attributes checked against its kind's schema; null when they do not match. */
function typedEvent(event: AgentEventInput): TypedEvent | { kind: 'other' } | null {
  if (!isEventKind(event.kind)) return { kind: 'other' };
  const checked = checkEventAttributes(event.kind, event.attributes);
  return checked.ok ? ({ kind: event.kind, attributes: checked.value } as TypedEvent) : null;
}

/** The deployments' agent-link handlers. */
export type DeploymentAgentLink = ReturnType<typeof createDeploymentAgentLink>;

/** The agent-link hooks of the deployments module, for the gateway. */
export function deploymentHooks(link: DeploymentAgentLink): AgentLinkHooks {
  return {
    expandPayload: (em, command) => link.expandPayload(em, command),
    onEvent: (em, serverId, event) => link.onAgentEvent(em, serverId, event),
    onCommandCompleted: (em, commandId) => link.onCommandCompleted(em, commandId),
    onSweep: (em) => link.sweep(em),
    desiredState: (em, serverId) => desiredStateOf(em, serverId),
  };
}
