import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { userOf } from '../../http/request-context.js';
import { LoginBody, LoginResult, RevokeBody, RevokeResult, SessionList, SessionParams } from './schema.js';
import type { SessionService } from './service.js';

/** Login (`POST /auth/sessions` and the tools' alias `POST /auth/sign-in/email`) and the caller's session list. */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionService }> = async (app, { sessions }) => {
  for (const url of ['/auth/sessions', '/auth/sign-in/email']) {
    app.post(
      url,
      {
        config: { public: true },
        schema: {
          tags: ['auth'],
          summary: url === '/auth/sessions' ? 'Log in with email and password' : 'Log in (alias used by CLI tools)',
          body: LoginBody,
          response: { 201: LoginResult },
        },
      },
      async (request, reply) => {
        const result = await sessions.login(request.em, {
          ...request.body,
          ipAddress: request.ip,
          userAgent: request.headers['user-agent'],
        });
        reply.header('set-auth-token', result.token);
        return reply.code(201).send(result);
      },
    );
  }

  app.get(
    '/account/sessions',
    { schema: { tags: ['account'], summary: "List the caller's sessions", response: { 200: SessionList } } },
    async (request) => sessions.list(request.em, userOf(request)),
  );

  app.post(
    '/account/sessions/:sessionId/revoke',
    {
      schema: {
        tags: ['account'],
        summary: 'Revoke one of your sessions',
        params: SessionParams,
        body: RevokeBody,
        response: { 200: RevokeResult },
      },
    },
    async (request) => sessions.revoke(request.em, userOf(request), request.params.sessionId),
  );
};
