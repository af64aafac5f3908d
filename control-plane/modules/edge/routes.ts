import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Clock } from '../../../shared/time.js';
import { callerOf, userOf } from '../../http/request-context.js';
import type { ResourceService } from '../resources/service.js';
import { proxyConfiguration } from './proxy-configuration.js';
import {
  BootstrapBody,
  BootstrapStarted,
  ConfigureBody,
  Configured,
  ProxyConfiguration,
  ProxyConfigurationQuery,
  ResourceParams,
  ServerParams,
} from './schema.js';
import type { EdgeService } from './service.js';

/** Options of {@link edgeRoutes}. */
export interface EdgeRoutesOptions {
  edge: EdgeService;
  resources: Pick<ResourceService, 'load'>;
  now: Clock;
}

/** The server edge-proxy endpoints and a resource's proxy configuration (seed 001). */
export const edgeRoutes: FastifyPluginAsyncTypebox<EdgeRoutesOptions> = async (app, { edge, resources, now }) => {
  app.post(
    '/servers/:serverId/edge-proxy/configuration',
    {
      schema: {
        tags: ['servers'],
        summary: "Set the server's edge proxy kind (caddy or none); applied by its agent",
        params: ServerParams,
        body: ConfigureBody,
        response: { 200: Configured },
      },
    },
    async (request) =>
      edge.configure(request.em, userOf(request), request.params.serverId, request.body.proxyKind as 'caddy'),
  );
  app.post(
    '/servers/:serverId/edge-proxy/bootstrap',
    {
      schema: {
        tags: ['servers'],
        summary: 'Start Caddy on the server from its binary, or adopt the Caddy already running',
        params: ServerParams,
        body: BootstrapBody,
        response: { 200: BootstrapStarted },
      },
    },
    async (request) => edge.bootstrap(request.em, userOf(request), request.params.serverId),
  );
  app.get(
    '/resources/:resourceId/proxy-configuration',
    {
      config: { deployTokens: true },
      schema: {
        tags: ['resources'],
        summary: "What Caddy serves for the resource (read back from it), next to Berth's plan",
        params: ResourceParams,
        querystring: ProxyConfigurationQuery,
        response: { 200: ProxyConfiguration },
      },
    },
    async (request) => {
      const { resource } = await resources.load(request.em, callerOf(request), request.params.resourceId);
      return proxyConfiguration(request.em, {
        resourceId: resource.id,
        routeScope: (request.query.routeScope ?? 'latest') as 'latest',
        includeDiagnostics: request.query.includeDiagnostics ?? false,
        deploymentId: request.query.deploymentId,
        plan: (serverId) => edge.plan(request.em, serverId),
        inspector: edge.inspector,
        now,
      });
    },
  );
};
