import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import {
  AttemptResult,
  BindingDetail,
  BindingList,
  BindingParams,
  CreateBody,
  DeleteBody,
  DeleteSafety,
  IdResult,
  ListQuery,
  OwnershipBody,
  RetryBody,
  RouteBody,
} from './schema.js';
import type { DomainBindingService } from './service.js';

/** Options of {@link domainBindingRoutes}. */
export interface DomainBindingRoutesOptions {
  bindings: DomainBindingService;
}

const tags = ['domains'];
const readable = { deployTokens: true };

/** The domain-binding endpoints of seed 001: people change bindings; deploy tokens may read them within their scope. */
export const domainBindingRoutes: FastifyPluginAsyncTypebox<DomainBindingRoutesOptions> = async (app, { bindings }) => {
  app.get(
    '/domain-bindings',
    {
      config: readable,
      schema: {
        tags,
        summary: 'List domain bindings, newest first (deleted ones left out)',
        querystring: ListQuery,
        response: { 200: BindingList },
      },
    },
    async (request) => bindings.list(request.em, callerOf(request), request.query),
  );
  app.post(
    '/domain-bindings',
    {
      schema: {
        tags,
        summary: 'Bind a custom domain (and path prefix) to a resource; routed by the edge proxy of its server',
        body: CreateBody,
        response: { 201: IdResult },
      },
    },
    async (request, reply) => reply.code(201).send(await bindings.create(request.em, userOf(request), request.body)),
  );
  app.get(
    '/domain-bindings/:domainBindingId',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Read a binding with its ownership, route, proxy and certificate readiness',
        params: BindingParams,
        response: { 200: BindingDetail },
      },
    },
    async (request) => bindings.show(request.em, callerOf(request), request.params.domainBindingId),
  );
  app.delete(
    '/domain-bindings/:domainBindingId',
    {
      schema: {
        tags,
        summary: 'Delete a binding: its route leaves the edge proxy; generated access and history stay',
        params: BindingParams,
        body: DeleteBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      bindings.remove(request.em, userOf(request), request.params.domainBindingId, request.body.confirmation),
  );
  app.get(
    '/domain-bindings/:domainBindingId/delete-check',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Check whether a binding can be deleted without revoking a certificate in use',
        params: BindingParams,
        response: { 200: DeleteSafety },
      },
    },
    async (request) => bindings.deleteCheck(request.em, callerOf(request), request.params.domainBindingId),
  );
  app.post(
    '/domain-bindings/:domainBindingId/route',
    {
      schema: {
        tags,
        summary: 'Point a binding at a resource, change its path prefix, or make it serve or redirect',
        params: BindingParams,
        body: RouteBody,
        response: { 200: IdResult },
      },
    },
    async (request) => bindings.route(request.em, userOf(request), request.params.domainBindingId, request.body ?? {}),
  );
  app.post(
    '/domain-bindings/:domainBindingId/ownership-confirmations',
    {
      schema: {
        tags,
        summary:
          'Check now that the domain carries the binding’s challenge (DNS TXT or HTTP token); never gates routing',
        params: BindingParams,
        body: OwnershipBody,
        response: { 200: AttemptResult },
      },
    },
    async (request) =>
      bindings.confirmOwnership(request.em, userOf(request), request.params.domainBindingId, request.body?.method),
  );
  app.post(
    '/domain-bindings/:domainBindingId/verification-retries',
    {
      schema: {
        tags,
        summary: 'Run the last ownership check again (certificate issuance is not retried)',
        params: BindingParams,
        body: RetryBody,
        response: { 200: AttemptResult },
      },
    },
    async (request) => bindings.retryVerification(request.em, userOf(request), request.params.domainBindingId),
  );
};
