import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { userOf } from '../../http/request-context.js';
import type { PrunePolicies } from './policies.js';
import {
  CapacityInspection,
  ConfigurePolicyBody,
  IdResult,
  PolicyList,
  PolicyListQuery,
  PolicyParams,
  PolicyShow,
  PruneBody,
  PruneResult,
  ServerParams,
} from './schema.js';
import type { CapacityService } from './service.js';

/** Options of {@link capacityRoutes}. */
export interface CapacityRoutesOptions {
  capacity: CapacityService;
  policies: PrunePolicies;
}

const tags = ['servers'];

/** Server capacity, prunes and prune policies (seed 001 §1.4). People only. */
export const capacityRoutes: FastifyPluginAsyncTypebox<CapacityRoutesOptions> = async (app, opts) => {
  const { capacity, policies } = opts;
  app.get(
    '/servers/:serverId/capacity',
    {
      schema: {
        tags,
        summary: "Disk, inodes, memory, CPU and Docker's disk use, measured now by the server's agent",
        params: ServerParams,
        response: { 200: CapacityInspection },
      },
    },
    async (request) => capacity.inspect(request.em, userOf(request), request.params.serverId),
  );
  app.post(
    '/servers/:serverId/capacity/prune',
    {
      schema: {
        tags,
        summary:
          "List (dry run, the default) or remove Berth's own stopped containers and unused images; never volumes or others' objects",
        params: ServerParams,
        body: PruneBody,
        response: { 200: PruneResult },
      },
    },
    async (request) => capacity.prune(request.em, userOf(request), request.params.serverId, request.body ?? {}),
  );
  app.get(
    '/servers/capacity/policies',
    {
      schema: {
        tags,
        summary: 'List the scheduled prune policies',
        querystring: PolicyListQuery,
        response: { 200: PolicyList },
      },
    },
    async (request) => policies.list(request.em, userOf(request), request.query),
  );
  app.post(
    '/servers/capacity/policies',
    {
      schema: {
        tags,
        summary: 'Set a scheduled prune policy (hourly, and when a disk crosses the threshold)',
        body: ConfigurePolicyBody,
        response: { 200: IdResult },
      },
    },
    async (request) => policies.configure(request.em, userOf(request), request.body),
  );
  app.get(
    '/servers/capacity/policies/:policyId',
    {
      schema: { tags, summary: 'Show one scheduled prune policy', params: PolicyParams, response: { 200: PolicyShow } },
    },
    async (request) => policies.show(request.em, userOf(request), request.params.policyId),
  );
};
