import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { userOf } from '../../http/request-context.js';
import { IdResult } from './schema.js';
import {
  CreateSshCredentialBody,
  CredentialListQuery,
  CredentialParams,
  CredentialShowQuery,
  DeleteSshCredentialBody,
  RotatedSshCredential,
  RotateSshCredentialBody,
  SshCredentialList,
  SshCredentialShow,
} from './ssh-credential-schema.js';
import type { SshCredentialService } from './ssh-credentials.js';

/** Options of {@link sshCredentialRoutes}. */
export interface SshCredentialRoutesOptions {
  credentials: SshCredentialService;
}

const tags = ['credentials'];

/**
 * The reusable SSH credentials of seed 001 (`/credentials/ssh`). People only: deploy tokens cannot read or change them.
 * Stored for later use; Berth opens no SSH connection yet.
 */
export const sshCredentialRoutes: FastifyPluginAsyncTypebox<SshCredentialRoutesOptions> = async (
  app,
  { credentials },
) => {
  app.get(
    '/credentials/ssh',
    {
      schema: {
        tags,
        summary: 'List stored SSH credentials (never their keys)',
        querystring: CredentialListQuery,
        response: { 200: SshCredentialList },
      },
    },
    async (request) => credentials.list(request.em, userOf(request), request.query.limit),
  );
  app.post(
    '/credentials/ssh',
    {
      schema: {
        tags,
        summary: 'Store a reusable SSH private key (sealed; for later use, as Berth makes no SSH connection yet)',
        body: CreateSshCredentialBody,
        response: { 201: IdResult },
      },
    },
    async (request, reply) => reply.code(201).send(await credentials.create(request.em, userOf(request), request.body)),
  );
  app.get(
    '/credentials/ssh/:credentialId',
    {
      schema: {
        tags,
        summary: 'Show a stored SSH credential and the servers that use it',
        params: CredentialParams,
        querystring: CredentialShowQuery,
        response: { 200: SshCredentialShow },
      },
    },
    async (request) =>
      credentials.show(request.em, userOf(request), request.params.credentialId, request.query.includeUsage),
  );
  app.delete(
    '/credentials/ssh/:credentialId',
    {
      schema: {
        tags,
        summary: 'Delete a stored SSH credential that no server uses (confirmation.credentialId must repeat its id)',
        params: CredentialParams,
        body: DeleteSshCredentialBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      credentials.remove(
        request.em,
        userOf(request),
        request.params.credentialId,
        request.body.confirmation.credentialId,
      ),
  );
  app.post(
    '/credentials/ssh/:credentialId/rotate',
    {
      schema: {
        tags,
        summary: 'Replace the key of a stored SSH credential in place',
        params: CredentialParams,
        body: RotateSshCredentialBody,
        response: { 200: RotatedSshCredential },
      },
    },
    async (request) => credentials.rotate(request.em, userOf(request), request.params.credentialId, request.body),
  );
};
