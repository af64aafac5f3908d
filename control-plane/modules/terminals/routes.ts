import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '@fastify/websocket';
import { Type } from 'typebox';
import { userOf } from '../../http/request-context.js';
import type { TerminalService } from './service.js';

/** Options of {@link terminalRoutes}. */
export interface TerminalRoutesOptions {
  terminals: TerminalService;
}

const Id = Type.String({ minLength: 1, maxLength: 100 });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const SessionParams = Type.Object({ sessionId: Id });
const Session = {
  sessionId: Type.String(),
  scope: Type.String(),
  serverId: Type.String(),
  resourceId: NullableString,
  deploymentId: NullableString,
  transport: Type.Object({ kind: Type.Literal('websocket'), path: Type.String() }),
  providerKey: Type.String(),
  workingDirectory: Type.String(),
  createdAt: Type.String(),
};
const SessionWithStatus = Type.Object({
  ...Session,
  status: Type.Enum(['pending', 'active', 'closed', 'expired', 'failed']),
  openedByUserId: Type.String(),
  attachedAt: NullableString,
  closedAt: NullableString,
  closeReason: NullableString,
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
});
const OpenBody = Type.Object(
  {
    scope: Type.Object(
      {
        kind: Type.Enum(['server', 'resource', 'preview', 'sandbox']),
        serverId: Type.Optional(Id),
        resourceId: Type.Optional(Id),
        deploymentId: Type.Optional(Id),
      },
      { additionalProperties: false },
    ),
    initialRows: Type.Optional(Type.Integer({ minimum: 10, maximum: 120, default: 24 })),
    initialCols: Type.Optional(Type.Integer({ minimum: 20, maximum: 320, default: 80 })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({
  scope: Type.Optional(Type.Enum(['server', 'resource'])),
  serverId: Type.Optional(Id),
  resourceId: Type.Optional(Id),
  deploymentId: Type.Optional(Id),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});
const EmptyBody = Type.Object({}, { additionalProperties: false });
const AttachQuery = Type.Object({
  access_token: Type.Optional(Type.String({ description: 'The bearer token, for clients that cannot send headers.' })),
});

const tags = ['terminal-sessions'];

/** Terminal sessions (seed 001) and their WebSocket. People only: a deploy token never gets a shell. */
export const terminalRoutes: FastifyPluginAsyncTypebox<TerminalRoutesOptions> = async (app, { terminals }) => {
  app.post(
    '/terminal-sessions',
    {
      schema: {
        tags,
        summary: "Open a terminal in a resource's running container (or on a server, owners and admins only)",
        body: OpenBody,
        response: { 201: Type.Object(Session) },
      },
    },
    async (request, reply) => reply.code(201).send(await terminals.open(request.em, userOf(request), request.body)),
  );
  app.get(
    '/terminal-sessions',
    {
      schema: {
        tags,
        summary: 'List terminal sessions, newest first (never their output)',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            schemaVersion: Type.Literal('terminal-sessions.list/v1'),
            items: Type.Array(SessionWithStatus),
          }),
        },
      },
    },
    async (request) => terminals.list(request.em, userOf(request), request.query),
  );
  app.get(
    '/terminal-sessions/:sessionId',
    {
      schema: {
        tags,
        summary: 'Show one terminal session: who opened it, where, and how it ended',
        params: SessionParams,
        response: {
          200: Type.Object({ schemaVersion: Type.Literal('terminal-sessions.show/v1'), item: SessionWithStatus }),
        },
      },
    },
    async (request) => terminals.show(request.em, userOf(request), request.params.sessionId),
  );
  app.post(
    '/terminal-sessions/:sessionId/close',
    {
      schema: {
        tags,
        summary: 'Close a terminal session (its shell is stopped)',
        params: SessionParams,
        body: EmptyBody,
        response: {
          200: Type.Object({ sessionId: Type.String(), closed: Type.Boolean(), status: Type.String() }),
        },
      },
    },
    async (request) => terminals.close(request.em, userOf(request), request.params.sessionId),
  );
  app.post(
    '/terminal-sessions/expire',
    {
      schema: {
        tags,
        summary: 'Expire sessions never attached within 5 minutes, and attached ones idle for 30',
        body: EmptyBody,
        response: { 200: Type.Object({ expiredCount: Type.Integer(), sessionIds: Type.Array(Type.String()) }) },
      },
    },
    async (request) => terminals.expire(request.em, userOf(request)),
  );
  app.get(
    '/terminal-sessions/:sessionId/attach',
    {
      websocket: true,
      config: { queryToken: true },
      schema: {
        tags,
        summary:
          'The session\'s WebSocket: send {type: "input", data}, {type: "resize", rows, cols}, {type: "close"}; receive ready, output, closed, error',
        params: SessionParams,
        querystring: AttachQuery,
      },
    },
    (socket, request) => {
      const listeners: Array<(frame: unknown) => void> = [];
      const early: unknown[] = [];
      socket.on('message', (raw: Buffer) => {
        let frame: unknown;
        try {
          frame = JSON.parse(raw.toString('utf8'));
        } catch {
          socket.send(JSON.stringify({ type: 'error', code: 'VALIDATION_ERROR', message: 'Frames are JSON objects.' }));
          return;
        }
        if (listeners.length === 0) early.push(frame);
        for (const listener of listeners) listener(frame);
      });
      terminals
        .attach(request.em, userOf(request), request.params.sessionId, {
          send: (frame) => {
            if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
          },
          close: () => socket.close(),
          onMessage: (listener) => {
            listeners.push(listener);
            for (const frame of early.splice(0)) listener(frame);
          },
          onClose: (listener) => socket.on('close', listener),
        })
        .catch((error: unknown) => {
          request.log.error({ err: error }, 'terminal attach failed');
          const message = error instanceof Error ? error.message : 'The terminal could not start.';
          if (socket.readyState === socket.OPEN) {
            socket.send(JSON.stringify({ type: 'error', code: 'terminal_unavailable', message }));
            socket.close();
          }
        });
    },
  );
};
