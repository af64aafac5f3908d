import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import { ConfigureBody, IdResult, PolicyList, PolicyShow, ShowQuery } from './schema.js';
import type { AccessPolicyService } from './service.js';

/** Options of {@link accessPolicyRoutes}. */
export interface AccessPolicyRoutesOptions {
  policies: AccessPolicyService;
}

const tags = ['access'];
const readable = { deployTokens: true };

/** The default access policies of seed 001: people set them; deploy tokens may read them within their scope. */
export const accessPolicyRoutes: FastifyPluginAsyncTypebox<AccessPolicyRoutesOptions> = async (app, { policies }) => {
  app.get(
    '/default-access-domain-policies',
    {
      config: readable,
      schema: { tags, summary: 'List the stored default access policies', response: { 200: PolicyList } },
    },
    async (request) => policies.list(request.em, callerOf(request)),
  );
  app.post(
    '/default-access-domain-policies',
    {
      schema: {
        tags,
        summary: 'Set the default access policy of a scope (replaces the one stored for that scope)',
        body: ConfigureBody,
        response: { 200: IdResult },
      },
    },
    async (request) => policies.configure(request.em, userOf(request), request.body),
  );
  app.get(
    '/default-access-domain-policies/show',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Show the default access policy stored for one scope (null when none)',
        querystring: ShowQuery,
        response: { 200: PolicyShow },
      },
    },
    async (request) =>
      policies.show(request.em, callerOf(request), {
        kind: request.query.scopeKind ?? 'system',
        serverId: request.query.serverId,
      }),
  );
};
