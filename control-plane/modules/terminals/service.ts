import type { EntityManager } from '@mikro-orm/postgresql';
import { commandKind } from '../../../shared/command-catalogue.js';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { CommandService } from '../agent-commands/service.js';
import { Deployment } from '../deployments/entity.js';
import type { AuthContext } from '../identity/auth-context.js';
import type { ResourceService } from '../resources/service.js';
import { currentDeployment, type RuntimeService } from '../runtime/service.js';
import { Server } from '../servers/entity.js';
import type { AgentTerminal, TerminalBroker } from './broker.js';
import { TerminalSession } from './entity.js';

/** `POST /terminal-sessions`. */
export interface OpenTerminalInput {
  scope: {
    kind: string;
    serverId?: string | undefined;
    resourceId?: string | undefined;
    deploymentId?: string | undefined;
  };
  initialRows?: number | undefined;
  initialCols?: number | undefined;
}

/** A session not attached within this long expires. */
const attachWithinMs = 5 * 60_000;
/** An attached session with no keystroke for this long expires. */
const idleMs = 30 * 60_000;
/** How long the agent has to start the shell and open its stream. */
const startTimeoutMs = 15_000;

function view(s: TerminalSession) {
  return {
    sessionId: s.id,
    scope: s.scope,
    serverId: s.serverId,
    resourceId: s.resourceId ?? null,
    deploymentId: s.deploymentId ?? null,
    transport: { kind: 'websocket' as const, path: `/terminal-sessions/${s.id}/attach` },
    providerKey: 'berth-agent',
    workingDirectory: s.workingDirectory,
    createdAt: s.createdAt.toISOString(),
  };
}
const withStatus = (s: TerminalSession) => ({
  ...view(s),
  status: s.status,
  openedByUserId: s.openedByUserId,
  attachedAt: s.attachedAt?.toISOString() ?? null,
  closedAt: s.closedAt?.toISOString() ?? null,
  closeReason: s.closeReason ?? null,
  exitCode: s.exitCode ?? null,
});

/** What the WebSocket side of a session sends and receives (see docs/monitoring.md). */
export interface TerminalSocket {
  send(frame: Record<string, unknown>): void;
  close(): void;
  onMessage(listener: (frame: unknown) => void): void;
  onClose(listener: () => void): void;
}

/**
 * Terminal sessions (5 seed operations and the WebSocket): a shell in a resource's running container, or on the
 * server for owners and admins, started by the agent (`terminal.open`) and carried on a Terminal stream of its
 * own, paired with the user's WebSocket here. Every session is recorded: who, where, when, how it ended.
 */
export function createTerminalService(deps: {
  now: Clock;
  log: Logger;
  commands: Pick<CommandService, 'enqueue' | 'waitForOutcome'>;
  broker: TerminalBroker;
  resources: Pick<ResourceService, 'load'>;
  runtime: Pick<RuntimeService, 'inspect'>;
}) {
  const { now, log, commands, broker } = deps;

  async function load(em: EntityManager, caller: AuthContext, sessionId: string) {
    const session = await em.findOne(TerminalSession, { id: sessionId, organization: caller.organizationId });
    if (session === null) throw notFound('Terminal session', sessionId, 'sessionId');
    return session;
  }

  async function connectedServer(em: EntityManager, caller: AuthContext, serverId: string) {
    const server = await em.findOne(Server, { id: serverId, organization: caller.organizationId });
    if (server === null) throw notFound('Server', serverId, 'scope.serverId');
    if (server.lifecycleStatus !== 'active' || server.connectionState !== 'connected') {
      throw new AppError('service_unavailable', `The agent of server "${serverId}" is ${server.connectionState}.`, {
        hint: "A terminal runs through the server's agent; it must be connected.",
      });
    }
    return server;
  }

  async function end(
    em: EntityManager,
    session: TerminalSession,
    status: 'closed' | 'expired' | 'failed',
    reason: string,
    exitCode: number | null = null,
  ) {
    if (session.status === 'closed' || session.status === 'expired' || session.status === 'failed') return;
    session.status = status;
    session.closedAt = now();
    session.closeReason = reason.slice(0, 200);
    session.exitCode = exitCode;
    await em.flush();
    log.info({ sessionId: session.id, status, reason, exitCode }, 'terminal session ended');
  }

  return {
    async open(em: EntityManager, caller: AuthContext, input: OpenTerminalInput) {
      const kind = input.scope.kind;
      let serverId: string;
      let resourceId: string | null = null;
      let deploymentId: string | null = null;
      if (kind === 'server') {
        // A shell on the machine is root's power over every app on it.
        if (caller.role !== 'owner' && caller.role !== 'admin') {
          throw new AppError('forbidden_role', 'Only owners and admins may open a terminal on a server.', {
            hint: 'Open a terminal in a resource instead: {"scope": {"kind": "resource", "resourceId": "…"}}.',
          });
        }
        if (!input.scope.serverId) {
          throw new AppError('validation_failed', 'A server terminal needs scope.serverId.', {
            field: 'scope.serverId',
          });
        }
        serverId = (await connectedServer(em, caller, input.scope.serverId)).id;
      } else if (kind === 'resource') {
        if (!input.scope.resourceId) {
          throw new AppError('validation_failed', 'A resource terminal needs scope.resourceId.', {
            field: 'scope.resourceId',
          });
        }
        const { resource } = await deps.resources.load(em, caller, input.scope.resourceId);
        const deployment = input.scope.deploymentId
          ? await em.findOne(Deployment, { id: input.scope.deploymentId, resource: resource.id })
          : await currentDeployment(em, resource.id);
        if (deployment === null) {
          if (input.scope.deploymentId) throw notFound('Deployment', input.scope.deploymentId, 'scope.deploymentId');
          throw new AppError('conflict', `Resource "${resource.id}" runs nothing to open a terminal in.`, {
            hint: 'Deploy it first (POST /deployments).',
            details: { reason: 'not_deployed' },
          });
        }
        await connectedServer(em, caller, deployment.server.id);
        const observed = await deps.runtime.inspect(em, deployment);
        if ('error' in observed) {
          throw new AppError('service_unavailable', `Could not see the container: ${observed.error}.`, {
            hint: 'Try again; GET /resources/{id}/health says what the agent sees.',
          });
        }
        if (!observed.container?.running) {
          throw new AppError('conflict', `The container of deployment "${deployment.id}" is not running.`, {
            hint: `Start it first: POST /resources/${resource.id}/runtime/start.`,
            details: { reason: 'container_not_running' },
          });
        }
        serverId = deployment.server.id;
        resourceId = resource.id;
        deploymentId = deployment.id;
      } else {
        throw new AppError(
          'validation_failed',
          `Terminal scope "${kind}" is not available: Berth has no ${kind}s yet.`,
          {
            field: 'scope.kind',
            hint: 'Use "resource" (a shell in its container) or "server" (owners and admins).',
          },
        );
      }
      const at = now();
      const session = em.create(TerminalSession, {
        id: newId('terminalSession', at.getTime()),
        organization: caller.organizationId,
        scope: kind,
        serverId,
        resourceId,
        deploymentId,
        openedByUserId: caller.userId,
        rows: input.initialRows ?? 24,
        cols: input.initialCols ?? 80,
        status: 'pending',
        target: null,
        workingDirectory: '/',
        createdAt: at,
        attachedAt: null,
        lastActivityAt: at,
        closedAt: null,
        closeReason: null,
        exitCode: null,
        bytesIn: 0,
        bytesOut: 0,
      });
      await em.flush();
      log.info(
        { sessionId: session.id, scope: kind, serverId, resourceId, userId: caller.userId },
        'terminal session opened',
      );
      return view(session);
    },

    async list(
      em: EntityManager,
      caller: AuthContext,
      query: { scope?: string; serverId?: string; resourceId?: string; deploymentId?: string; limit?: number },
    ) {
      const where: Record<string, unknown> = { organization: caller.organizationId };
      for (const key of ['scope', 'serverId', 'resourceId', 'deploymentId'] as const) {
        if (query[key] !== undefined) where[key] = query[key];
      }
      const rows = await em.find(TerminalSession, where, { orderBy: { createdAt: 'desc' }, limit: query.limit ?? 50 });
      return { schemaVersion: 'terminal-sessions.list/v1' as const, items: rows.map(withStatus) };
    },

    async show(em: EntityManager, caller: AuthContext, sessionId: string) {
      return {
        schemaVersion: 'terminal-sessions.show/v1' as const,
        item: withStatus(await load(em, caller, sessionId)),
      };
    },

    async close(em: EntityManager, caller: AuthContext, sessionId: string) {
      const session = await load(em, caller, sessionId);
      broker.live(sessionId)?.close('closed-by-request');
      await end(em, session, 'closed', 'closed by request');
      return { sessionId, closed: true, status: session.status };
    },

    /** Expires sessions never attached in 5 minutes and attached ones idle for 30. */
    async expire(em: EntityManager, caller: AuthContext | null) {
      const at = now().getTime();
      const rows = await em.find(TerminalSession, {
        ...(caller ? { organization: caller.organizationId } : {}),
        $or: [
          { status: 'pending', createdAt: { $lt: new Date(at - attachWithinMs) } },
          { status: 'active', lastActivityAt: { $lt: new Date(at - idleMs) } },
        ],
      });
      for (const session of rows) {
        broker.live(session.id)?.close('expired');
        await end(em, session, 'expired', session.status === 'pending' ? 'never attached' : 'idle');
      }
      return { expiredCount: rows.length, sessionIds: rows.map((s) => s.id) };
    },

    /** The WebSocket of a session: starts the shell through the agent and relays until either side ends. */
    async attach(em: EntityManager, caller: AuthContext, sessionId: string, socket: TerminalSocket) {
      const session = await load(em, caller, sessionId);
      if (session.openedByUserId !== caller.userId) {
        socket.send({
          type: 'error',
          code: 'FORBIDDEN_ROLE',
          message: 'Only the user who opened a session may attach to it.',
        });
        return socket.close();
      }
      if (session.status !== 'pending') {
        socket.send({ type: 'error', code: 'CONFLICT', message: `The session is ${session.status}; open a new one.` });
        return socket.close();
      }
      session.status = 'active';
      session.attachedAt = now();
      await em.flush();
      const waiting = broker.expect(session.id, session.serverId, startTimeoutMs);
      const issued = await commands.enqueue(
        em,
        session.serverId,
        commandKind.terminalOpen,
        {
          sessionId: session.id,
          target:
            session.scope === 'server'
              ? { kind: 'server' }
              : { kind: 'container', deploymentId: session.deploymentId ?? '' },
          rows: session.rows,
          cols: session.cols,
        },
        startTimeoutMs,
      );
      const outcome = await commands.waitForOutcome(em.fork(), issued);
      const agent: AgentTerminal | null = outcome.state === 'succeeded' ? await waiting : null;
      if (agent === null) {
        const message =
          outcome.state === 'succeeded'
            ? 'The agent started the shell but its terminal stream did not arrive.'
            : (outcome.errorMessage ?? `The agent did not start the shell (${outcome.state}).`);
        socket.send({ type: 'error', code: outcome.errorCode ?? 'terminal_unavailable', message });
        socket.send({ type: 'closed', reason: 'failed' });
        await end(em, session, 'failed', message);
        return socket.close();
      }
      const started = outcome.result as { target: string; workingDirectory: string };
      session.target = started.target;
      session.workingDirectory = started.workingDirectory;
      await em.flush();
      const decoder = new TextDecoder();
      let bytesOut = 0;
      let bytesIn = 0;
      let activityWritten = Date.now();
      socket.send({ type: 'ready', sessionId: session.id, target: started.target });
      agent.onOutput((data) => {
        bytesOut += data.byteLength;
        socket.send({ type: 'output', stream: 'stdout', data: decoder.decode(data, { stream: true }) });
      });
      socket.onMessage((frame) => {
        const f = frame as { type?: string; data?: unknown; rows?: unknown; cols?: unknown };
        if (f.type === 'input' && typeof f.data === 'string') {
          const bytes = new TextEncoder().encode(f.data);
          bytesIn += bytes.byteLength;
          session.lastActivityAt = now();
          agent.input(bytes);
          // Written at most once a minute: enough for the idle expiry, cheap while someone types.
          if (Date.now() - activityWritten >= 60_000) {
            activityWritten = Date.now();
            void em
              .fork()
              .nativeUpdate(TerminalSession, session.id, { lastActivityAt: session.lastActivityAt })
              .catch(() => undefined);
          }
        } else if (f.type === 'resize' && Number.isInteger(f.rows) && Number.isInteger(f.cols)) {
          agent.resize(Math.min(500, Math.max(1, f.rows as number)), Math.min(1000, Math.max(1, f.cols as number)));
        } else if (f.type === 'close') agent.close('client-closed');
        else
          socket.send({
            type: 'error',
            code: 'VALIDATION_ERROR',
            message: 'Send {type: "input", data}, {type: "resize", rows, cols} or {type: "close"}.',
          });
      });
      socket.onClose(() => agent.close('client-disconnected'));
      agent.onEnd(({ exitCode, error }) => {
        socket.send({
          type: 'closed',
          reason: error === null ? 'exited' : 'failed',
          exitCode,
          ...(error ? { message: error } : {}),
        });
        socket.close();
        const fork = em.fork();
        void fork
          .findOne(TerminalSession, session.id)
          .then(async (row) => {
            if (row === null) return;
            row.bytesIn = bytesIn;
            row.bytesOut = bytesOut;
            row.lastActivityAt = session.lastActivityAt;
            await end(fork, row, error === null ? 'closed' : 'failed', error ?? 'the shell exited', exitCode);
          })
          .catch((e: unknown) =>
            log.error({ err: e, sessionId: session.id }, 'could not record the end of a terminal session'),
          );
      });
    },
  };
}
export type TerminalService = ReturnType<typeof createTerminalService>;
