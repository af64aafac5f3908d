import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import {
  AttemptResult,
  CertificateList,
  CertificateParams,
  CertificateResult,
  CertificateView,
  DeleteBody,
  EmptyBody,
  ImportBody,
  IssueBody,
  ListQuery,
} from './schema.js';
import type { CertificateService } from './service.js';

/** Options of {@link certificateRoutes}. */
export interface CertificateRoutesOptions {
  certificates: CertificateService;
}

const tags = ['certificates'];
const readable = { deployTokens: true };

/** The certificate endpoints of seed 001: people change certificates; deploy tokens may read them within their scope. */
export const certificateRoutes: FastifyPluginAsyncTypebox<CertificateRoutesOptions> = async (app, { certificates }) => {
  app.get(
    '/certificates',
    {
      config: readable,
      schema: {
        tags,
        summary: 'List certificates, newest first (deleted ones left out)',
        querystring: ListQuery,
        response: { 200: CertificateList },
      },
    },
    async (request) => certificates.list(request.em, callerOf(request), request.query),
  );
  app.get(
    '/certificates/:certificateId',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Read safe certificate metadata and attempt history',
        params: CertificateParams,
        response: { 200: CertificateView },
      },
    },
    async (request) => certificates.show(request.em, callerOf(request), request.params.certificateId),
  );
  app.delete(
    '/certificates/:certificateId',
    {
      schema: {
        tags,
        summary: 'Remove a certificate that is not in use; its row and attempts are kept',
        params: CertificateParams,
        body: DeleteBody,
        response: { 200: CertificateResult },
      },
    },
    async (request) =>
      certificates.remove(request.em, userOf(request), request.params.certificateId, request.body.confirmation),
  );
  app.post(
    '/certificates/issue-or-renew',
    {
      schema: {
        tags,
        summary: "Request a managed certificate (Caddy's ACME automation) for a domain binding, or its renewal",
        body: IssueBody,
        response: { 200: AttemptResult },
      },
    },
    async (request) => certificates.issueOrRenew(request.em, userOf(request), request.body),
  );
  app.post(
    '/certificates/:certificateId/retries',
    {
      schema: {
        tags,
        summary: 'Start a new attempt for a managed certificate whose latest attempt failed',
        params: CertificateParams,
        body: EmptyBody,
        response: { 200: AttemptResult },
      },
    },
    async (request) => certificates.retry(request.em, userOf(request), request.params.certificateId),
  );
  app.post(
    '/certificates/:certificateId/revoke',
    {
      schema: {
        tags,
        summary: 'Stop using a certificate (the edge proxy stops serving it)',
        params: CertificateParams,
        body: EmptyBody,
        response: { 200: CertificateResult },
      },
    },
    async (request) => certificates.revoke(request.em, userOf(request), request.params.certificateId),
  );
  app.post(
    '/certificates/import',
    {
      schema: {
        tags,
        summary: 'Import a PEM certificate chain and its private key for a domain binding',
        body: ImportBody,
        response: { 201: AttemptResult },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await certificates.importCertificate(request.em, userOf(request), request.body)),
  );
};
