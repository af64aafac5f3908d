import type { EntityManager } from '@mikro-orm/postgresql';
import { type CommandResultOf, commandKind } from '../../../shared/command-catalogue.js';
import { AppError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import { retryOnConflict } from '../../db/retry-on-conflict.js';
import type { CommandService } from '../agent-commands/service.js';
import type { Caller } from '../identity/auth-context.js';
import { Server } from '../servers/entity.js';
import type { ServerService } from '../servers/service.js';
import { edgeStatusOf } from '../servers/view.js';
import { accessSummaryOf } from './access-summary.js';
import { type EdgePlan, planEdge } from './plan.js';
import type { EdgeInspector, EdgePublisher, EdgeRouteSource } from './ports.js';

/** Dependencies of {@link createEdgeService}. */
export interface EdgeServiceOptions {
  now: Clock;
  log: Logger;
  commands: Pick<CommandService, 'enqueue' | 'withdraw' | 'queuedOf' | 'waitForOutcome' | 'find'>;
  servers: Pick<ServerService, 'load'>;
  /** How long `edge.inspect` may take before a read-back says the agent did not answer. */
  inspectTimeoutMs?: number;
}

/** A queued `edge.sync` waits this long for its agent: an edge document is desired state, not a request. */
const syncDeadlineMs = 7 * 24 * 3600_000;
/** Starting Caddy takes seconds; an agent that is away runs the bootstrap when it is back, within a day. */
const bootstrapDeadlineMs = 24 * 3600_000;

const unreachableReason = "The server's agent is not connected; the proxy is configured as soon as it reconnects.";

/**
 * The edge proxy of every server: the server endpoints (configure, bootstrap), the edge document published to each
 * agent as `edge.sync` whenever what it must serve changes, and the read-back of what Caddy serves (`edge.inspect`).
 * The stored `edge*` fields of a server are only ever written from what an agent reported, or from a reason the
 * control plane knows (the agent is away, the kind is not supported): the status never claims more than was seen.
 */
export function createEdgeService(options: EdgeServiceOptions) {
  const { now, log, commands, servers } = options;
  const inspectTimeoutMs = options.inspectTimeoutMs ?? 15_000;
  let source: EdgeRouteSource | null = null;

  function recordUnsupported(server: Server): void {
    server.edgeStatus = 'failed';
    server.edgeLastAttemptAt = now();
    server.edgeLastErrorCode = 'proxy_kind_unsupported';
    server.edgeLastErrorMessage = 'Berth manages Caddy only; choose proxyKind "caddy" or "none".';
  }

  /** Queues `plan` as the server's next edge document, superseding one still queued. */
  async function queueSync(em: EntityManager, server: Server, plan: EdgePlan): Promise<void> {
    for (const id of await commands.queuedOf(em, server.id, commandKind.edgeSync)) {
      await commands.withdraw(em, id, 'superseded', 'A newer edge document replaced this one before it was sent.');
    }
    server.edgeDocumentVersion += 1;
    server.edgeDocumentHash = plan.hash;
    server.edgeLastAttemptAt = now();
    if (server.connectionState !== 'connected') {
      server.edgeStatus = 'pending';
      server.edgeLastErrorCode = 'agent_unreachable';
      server.edgeLastErrorMessage = unreachableReason;
    } else if (server.edgeStatus !== 'failed') {
      // Serving the previous document until the agent answers: `ready` stays true of what is served.
      server.edgeStatus ??= 'pending';
    }
    // The server's fields go in the enqueue's flush: the command and the row change are written together or not at all.
    await commands.enqueue(
      em,
      server.id,
      commandKind.edgeSync,
      { version: server.edgeDocumentVersion, ...plan.document },
      syncDeadlineMs,
    );
    await em.flush();
    log.info(
      { serverId: server.id, version: server.edgeDocumentVersion, routes: plan.document.routes.length },
      'edge document queued',
    );
  }

  const publisher: EdgePublisher = {
    async publish(em, serverId) {
      const server = await em.findOne(Server, serverId);
      if (server === null) return;
      if (server.proxyKind === 'traefik') {
        recordUnsupported(server);
        await em.flush();
        return;
      }
      const plan = await planEdge(em, serverId, source);
      if (plan.hash === server.edgeDocumentHash) return; // already published: no churn
      await queueSync(em, server, plan);
    },
  };

  /**
   * The publisher for other modules: each publish on its own fork, read afresh and retried when the server row changed
   * meanwhile (an agent's result, a deployment's publish), so a caller's change that is already written is never
   * answered with a conflict it did not cause.
   */
  const isolatedPublisher: EdgePublisher = {
    async publish(em, serverId) {
      const fork = em.fork();
      await retryOnConflict(fork, () => publisher.publish(fork, serverId));
    },
  };

  const inspector: EdgeInspector = {
    async inspect(serverId, request) {
      const em = inspectEm;
      if (em === null) return { ok: false, code: 'not_ready', message: 'The edge service is not started.' };
      const fork = em.fork();
      const server = await fork.findOne(Server, serverId);
      if (server === null) return { ok: false, code: 'not_found', message: `Server "${serverId}" was not found.` };
      if (server.connectionState !== 'connected') {
        return { ok: false, code: 'agent_unreachable', message: unreachableReason };
      }
      const issued = await commands.enqueue(fork, serverId, commandKind.edgeInspect, request, inspectTimeoutMs);
      const outcome = await commands.waitForOutcome(fork, issued);
      if (outcome.state !== 'succeeded') {
        return {
          ok: false,
          code: outcome.errorCode,
          message: outcome.errorMessage ?? 'The agent did not say what Caddy serves.',
        };
      }
      const result = outcome.result as CommandResultOf<typeof commandKind.edgeInspect>;
      await fork.nativeUpdate(Server, serverId, { edgeObservedAt: new Date(result.observedAt) });
      return { ok: true, result };
    },
  };
  let inspectEm: EntityManager | null = null;

  return {
    /** Publishes a server's edge document if it changed; for other modules (see {@link isolatedPublisher}). */
    publisher: isolatedPublisher,
    inspector,
    /** The EntityManager the inspector forks for its own commands (set once, at start-up). */
    useEntityManager(em: EntityManager) {
      inspectEm = em;
    },
    /** Where domain bindings come from (set once the domain-bindings module exists). */
    useRouteSource(routeSource: EdgeRouteSource) {
      source = routeSource;
    },
    get routeSource() {
      return source;
    },
    plan: (em: EntityManager, serverId: string) => planEdge(em, serverId, source),

    /** The resource's access summary (URLs through the edge proxy, and whether they are served). */
    accessSummary: (em: EntityManager, resourceId: string) =>
      accessSummaryOf(em, resourceId, (serverId) => planEdge(em, serverId, source)),

    /** `POST /servers/{id}/edge-proxy/configuration`: stores the kind and publishes what it means. */
    configure(em: EntityManager, auth: Caller, serverId: string, proxyKind: 'none' | 'traefik' | 'caddy') {
      return retryOnConflict(em, async () => {
        const server = await servers.load(em, auth, serverId);
        const changed = server.proxyKind !== proxyKind;
        server.proxyKind = proxyKind;
        server.updatedAt = now();
        if (changed) {
          // A new kind starts from scratch: what was observed of the old one says nothing about it.
          server.edgeStatus = proxyKind === 'traefik' ? 'failed' : 'pending';
          server.edgeLastErrorCode = null;
          server.edgeLastErrorMessage = null;
        }
        await em.flush();
        await publisher.publish(em, serverId);
        return { id: server.id, edgeProxy: { kind: server.proxyKind, status: edgeStatusOf(server) } };
      });
    },

    /** `POST /servers/{id}/edge-proxy/bootstrap`: starts Caddy on the server, or adopts the one running there. */
    bootstrap(em: EntityManager, auth: Caller, serverId: string) {
      return retryOnConflict(em, async () => {
        const server = await servers.load(em, auth, serverId);
        if (server.proxyKind !== 'caddy') {
          throw new AppError('conflict', `Server "${serverId}" has edge proxy kind "${server.proxyKind}".`, {
            field: 'proxyKind',
            hint: 'Configure proxyKind "caddy" first (POST /servers/{serverId}/edge-proxy/configuration).',
          });
        }
        server.edgeLastAttemptAt = now();
        if (server.connectionState === 'connected') {
          server.edgeStatus = 'starting';
        } else {
          server.edgeStatus = 'pending';
          server.edgeLastErrorCode = 'agent_unreachable';
          server.edgeLastErrorMessage = unreachableReason;
        }
        // One flush for the command and the row: a conflict on the row leaves no command behind to be queued twice.
        const issued = await commands.enqueue(em, serverId, commandKind.edgeBootstrap, {}, bootstrapDeadlineMs);
        await em.flush();
        return { serverId, attemptId: issued.id };
      });
    },

    /** Records what an edge command answered, and publishes again when the agent may have lost the document. */
    onCommandCompleted(em: EntityManager, commandId: string): Promise<void> {
      return retryOnConflict(em, async () => {
        const command = await commands.find(em, commandId);
        if (command === null) return;
        const serverId = command.server.id;
        if (command.kind === commandKind.edgeSync) {
          if (command.errorCode === 'superseded') return;
          const server = await em.findOneOrFail(Server, serverId);
          const at = command.completedAt ?? now();
          if (command.state === 'succeeded') {
            const result = command.result as CommandResultOf<typeof commandKind.edgeSync>;
            server.edgeAppliedVersion = Math.max(server.edgeAppliedVersion, result.version);
            server.edgeHttpPort = result.httpPort;
            server.edgeHttpsPort = result.httpsPort;
            server.edgeObservedAt = new Date(result.appliedAt);
            if (result.version >= server.edgeDocumentVersion) {
              server.edgeStatus = result.status;
              server.edgeLastSucceededAt = at;
              server.edgeLastErrorCode = null;
              server.edgeLastErrorMessage = null;
            }
          } else {
            server.edgeStatus = 'failed';
            server.edgeLastErrorCode = command.errorCode ?? 'failed';
            server.edgeLastErrorMessage = command.errorMessage ?? 'The agent could not apply the edge document.';
            // Sent again with the next change, or by a bootstrap; a stored hash would hide it from a re-publish.
            server.edgeDocumentHash = null;
          }
          await em.flush();
          return;
        }
        if (command.kind === commandKind.edgeBootstrap) {
          const server = await em.findOneOrFail(Server, serverId);
          if (command.state === 'succeeded') {
            server.edgeLastSucceededAt = command.completedAt ?? now();
            server.edgeLastErrorCode = null;
            server.edgeLastErrorMessage = null;
            server.edgeStatus = 'pending';
            // A Caddy just started knows nothing of Berth's routes: send the whole document again.
            server.edgeDocumentHash = null;
          } else {
            server.edgeStatus = 'failed';
            server.edgeLastErrorCode = command.errorCode ?? 'failed';
            server.edgeLastErrorMessage = command.errorMessage ?? 'The agent could not start the edge proxy.';
          }
          await em.flush();
          if (command.state === 'succeeded') await publisher.publish(em, serverId);
          return;
        }
        if (command.kind === commandKind.edgeInspect) return;
        // Anything else may have changed what runs on the server (a deployment, a stop, a start).
        await publisher.publish(em, serverId);
      });
    },
  };
}

/** The edge service's type. */
export type EdgeService = ReturnType<typeof createEdgeService>;
