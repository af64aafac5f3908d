import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../../http/request-context.js';
import type { SessionService } from '../sessions/service.js';
import { BootstrapStatus, CurrentContext, FirstAdminBody, FirstAdminResult } from './schema.js';
import type { IdentityService } from './service.js';

/** Options of {@link identityRoutes}. */
export interface IdentityRoutesOptions {
  identity: IdentityService;
  sessions: Pick<SessionService, 'authenticate'>;
}

/** First-admin bootstrap (public) and the caller's organization context. */
export const identityRoutes: FastifyPluginAsyncTypebox<IdentityRoutesOptions> = async (app, { identity, sessions }) => {
  app.get(
    '/bootstrap/auth/status',
    {
      config: { public: true },
      schema: { tags: ['bootstrap'], summary: 'Is a first admin configured?', response: { 200: BootstrapStatus } },
    },
    async (request) => {
      // Public, but a caller who sends a valid token also sees the admin's email.
      const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const caller = token ? await sessions.authenticate(request.em, token).catch(() => null) : null;
      return identity.bootstrapStatus(request.em, caller);
    },
  );

  app.post(
    '/bootstrap/auth/first-admin',
    {
      config: { public: true },
      schema: {
        tags: ['bootstrap'],
        summary: 'Create the first admin and the default organization (once)',
        body: FirstAdminBody,
        response: { 201: FirstAdminResult },
      },
    },
    async (request, reply) => {
      const { replayed, result } = await identity.createFirstAdmin(request.em, request.body);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/organizations/current-context',
    {
      // A deploy token reads its own organization's view (the CLI's handshake calls this first).
      config: { deployTokens: true },
      schema: {
        tags: ['organizations'],
        summary: 'Who am I: user, current organization, role and permissions',
        response: { 200: CurrentContext },
      },
    },
    async (request) => identity.currentContext(request.em, callerOf(request)),
  );
};
