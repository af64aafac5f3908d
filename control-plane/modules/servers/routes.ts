import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import type { ConnectivityService } from './connectivity.js';
import type { EnrollmentService } from './enrollment.js';
import {
  ConnectivityResult,
  CountResult,
  CreateBody,
  CreateResult,
  CredentialBody,
  DeactivateBody,
  DeleteBody,
  DeleteCheck,
  DraftConnectivityBody,
  EmptyBody,
  EnrollBody,
  Enrolled,
  EnrollmentIssued,
  IdResult,
  ListQuery,
  RenameBody,
  ServerList,
  ServerParams,
  ServerShow,
  ShowQuery,
  SshCredentialConfigured,
} from './schema.js';
import type { ServerService } from './service.js';
import { sshCredentialRoutes } from './ssh-credential-routes.js';
import { checkCredentialFields, type SshCredentialService } from './ssh-credentials.js';

/** Options of {@link serverRoutes}. */
export interface ServerRoutesOptions {
  servers: ServerService;
  enrollment: EnrollmentService;
  connectivity: ConnectivityService;
  credentials: SshCredentialService;
}

const tags = ['servers'];
const readable = { deployTokens: true };

/** The servers API of seed 001 (with its stored SSH credentials) and the agent's enrollment call. */
export const serverRoutes: FastifyPluginAsyncTypebox<ServerRoutesOptions> = async (
  app,
  { servers, enrollment, connectivity, credentials },
) => {
  await app.register(sshCredentialRoutes, { credentials });
  app.get(
    '/servers/count',
    { config: readable, schema: { tags, summary: 'Count servers', response: { 200: CountResult } } },
    async (request) => servers.count(request.em, callerOf(request)),
  );
  app.get(
    '/servers',
    {
      config: readable,
      schema: { tags, summary: 'List servers', querystring: ListQuery, response: { 200: ServerList } },
    },
    async (request) => servers.list(request.em, callerOf(request), request.query.limit),
  );
  app.post(
    '/servers',
    { schema: { tags, summary: 'Register a server', body: CreateBody, response: { 201: CreateResult } } },
    async (request, reply) => reply.code(201).send(await servers.create(request.em, userOf(request), request.body)),
  );
  app.get(
    '/servers/:serverId',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Show a server, its agent and rollups',
        params: ServerParams,
        querystring: ShowQuery,
        response: { 200: ServerShow },
      },
    },
    async (request) =>
      servers.show(request.em, callerOf(request), request.params.serverId, request.query.includeRollups),
  );
  app.post(
    '/servers/:serverId/rename',
    {
      schema: { tags, summary: 'Rename a server', params: ServerParams, body: RenameBody, response: { 200: IdResult } },
    },
    async (request) => servers.rename(request.em, userOf(request), request.params.serverId, request.body.name),
  );
  app.post(
    '/servers/:serverId/deactivate',
    {
      schema: {
        tags,
        summary: 'Deactivate a server (revokes its agent)',
        params: ServerParams,
        body: DeactivateBody,
        response: { 200: IdResult },
      },
    },
    async (request) => servers.deactivate(request.em, userOf(request), request.params.serverId, request.body.reason),
  );
  app.get(
    '/servers/:serverId/delete-check',
    {
      config: readable,
      schema: { tags, summary: 'What blocks deleting a server', params: ServerParams, response: { 200: DeleteCheck } },
    },
    async (request) => servers.deleteCheck(request.em, callerOf(request), request.params.serverId),
  );
  app.delete(
    '/servers/:serverId',
    {
      schema: {
        tags,
        summary: 'Delete a deactivated server (confirmation.serverId must repeat its id)',
        params: ServerParams,
        body: DeleteBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      servers.remove(request.em, userOf(request), request.params.serverId, request.body.confirmation.serverId),
  );
  app.post(
    '/servers/:serverId/credentials',
    {
      schema: {
        tags,
        summary:
          "Issue a one-time enrollment token for the server's agent (201), or store an SSH credential for later use (200)",
        params: ServerParams,
        body: CredentialBody,
        response: { 200: SshCredentialConfigured, 201: EnrollmentIssued },
      },
    },
    async (request, reply) => {
      const { credential } = request.body;
      checkCredentialFields(credential);
      if (credential.kind !== 'agent-enrollment') {
        return credentials.configureServer(request.em, userOf(request), request.params.serverId, credential);
      }
      const issued = await enrollment.issue(request.em, userOf(request), request.params.serverId, credential.kind);
      return reply.code(201).send(issued);
    },
  );
  app.post(
    '/servers/:serverId/connectivity-tests',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Test the agent session, Docker and the edge proxy',
        params: ServerParams,
        body: EmptyBody,
        response: { 200: ConnectivityResult },
      },
    },
    async (request) => connectivity.test(request.em, callerOf(request), request.params.serverId),
  );
  app.post(
    '/servers/connectivity-tests',
    {
      schema: {
        tags,
        summary: 'Test a server before registering it',
        body: DraftConnectivityBody,
        response: { 200: ConnectivityResult },
      },
    },
    async (request) => {
      userOf(request);
      return connectivity.draft(request.body.server);
    },
  );
  app.post(
    '/agent/enrollments',
    {
      config: { public: true },
      schema: {
        tags: ['agent'],
        summary: 'Exchange a one-time enrollment token and a CSR for an agent certificate',
        body: EnrollBody,
        response: { 201: Enrolled },
      },
    },
    async (request, reply) => reply.code(201).send(await enrollment.enroll(request.em, request.body)),
  );
};
