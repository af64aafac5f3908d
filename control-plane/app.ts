import websocket from '@fastify/websocket';
import type { MikroORM } from '@mikro-orm/postgresql';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { CertificateAuthority } from '../shared/pki.js';
import { agentDistributionRoutes } from './agent-distribution/routes.js';
import type { ControlPlaneConfig } from './config.js';
import { authenticatePlugin } from './http/authenticate.js';
import { errorHandlerPlugin } from './http/error-handler.js';
import { nulCharactersPlugin } from './http/nul-characters.js';
import { registerOpenApi } from './http/openapi.js';
import { pathParamsInBodyPlugin } from './http/path-params-in-body.js';
import { routeNotFoundPlugin, routerErrorOptions } from './http/route-not-found.js';
import { installValidators } from './http/validation.js';
import { accessPolicyRoutes } from './modules/access-policies/routes.js';
import { capacityRoutes } from './modules/capacity/routes.js';
import { certificateRoutes } from './modules/certificates/routes.js';
import { deployTokenRoutes } from './modules/deploy-tokens/routes.js';
import { deploymentRoutes } from './modules/deployments/routes.js';
import { diagnosticRoutes } from './modules/diagnostics/routes.js';
import { domainBindingRoutes } from './modules/domain-bindings/routes.js';
import { edgeRoutes } from './modules/edge/routes.js';
import { environmentRoutes } from './modules/environments/routes.js';
import { identityRoutes } from './modules/identity/routes.js';
import { monitoringRoutes } from './modules/monitoring/routes.js';
import { projectRoutes } from './modules/projects/routes.js';
import { resourceRoutes } from './modules/resources/routes.js';
import { runtimeRoutes } from './modules/runtime/routes.js';
import { runtimeLogRoutes } from './modules/runtime-logs/routes.js';
import { serverRoutes } from './modules/servers/routes.js';
import { sessionRoutes } from './modules/sessions/routes.js';
import { systemRoutes } from './modules/system/routes.js';
import { terminalRoutes } from './modules/terminals/routes.js';
import type { Services } from './services.js';
import './http/request-context.js';

/** What {@link buildApp} needs: validated config, a logger, an open, migrated ORM and the services (services.ts). */
export interface AppDependencies {
  config: ControlPlaneConfig;
  log: Logger;
  orm: MikroORM;
  /** The agent CA, served to installers. */
  ca: CertificateAuthority;
  services: Services;
}

// A client's request id is echoed when it is short and printable; anything else is replaced by our own.
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The URL the API listens at, for links when BERTH_PUBLIC_URL is unset (a wildcard host is shown as loopback). */
export function listeningUrl(app: FastifyInstance, config: Pick<ControlPlaneConfig, 'httpHost' | 'httpPort'>): string {
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : config.httpPort;
  const host = config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost === '::' ? '::1' : config.httpHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The HTTP app around the services: validation, the error envelope, authentication and every route plugin, in one
 * visible order. Returns the fastify instance unstarted, so tests drive it with `inject()` and the root listens.
 */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { orm, ca, config, log, services } = deps;
  const { sessions, deployTokens } = services;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && acceptableRequestId.test(sent) ? sent : newId('request');
    },
    // Every public route is also served under /api, by the same handler, and listed once in OpenAPI.
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      if (url === '/api' || url.startsWith('/api?')) return `/${url.slice(4)}`;
      return url.startsWith('/api/') ? url.slice(4) : url;
    },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: {} },
    ...routerErrorOptions,
  });
  installValidators(app);

  // An empty body with a JSON content type means "no body", as curl sends it for bodiless POSTs.
  // Only JSON bodies: a text/plain body is refused as the wrong media type (415), not parsed as a string.
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : parseJson(request, body as string, done),
  );
  app.decorateRequest('em', null as never);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    request.em = orm.em.fork();
  });

  await app.register(errorHandlerPlugin);
  await app.register(authenticatePlugin, { sessions, deployTokens });
  await app.register(nulCharactersPlugin);
  await app.register(routeNotFoundPlugin);
  await app.register(pathParamsInBodyPlugin);
  await registerOpenApi(app);

  await app.register(systemRoutes, { orm });
  await app.register(identityRoutes, { identity: services.identity, sessions });
  await app.register(sessionRoutes, { sessions });
  await app.register(projectRoutes, { projects: services.projects });
  await app.register(environmentRoutes, { environments: services.environments });
  await app.register(resourceRoutes, { resources: services.resources, variables: services.resourceVariables });
  await app.register(deploymentRoutes, {
    deployments: services.deployments,
    reads: services.deploymentReads,
    waits: services.deploymentWaits,
  });
  await app.register(runtimeRoutes, {
    runtime: services.runtime,
    history: services.healthHistory,
  });
  await app.register(deployTokenRoutes, { deployTokens });
  await app.register(serverRoutes, {
    servers: services.servers,
    enrollment: services.enrollment,
    connectivity: services.connectivity,
    credentials: services.sshCredentials,
  });
  await app.register(accessPolicyRoutes, { policies: services.accessPolicies });
  await app.register(edgeRoutes, { edge: services.edge, resources: services.resources, now: services.clock });
  await app.register(domainBindingRoutes, { bindings: services.domainBindings });
  await app.register(certificateRoutes, { certificates: services.certificates });
  await app.register(monitoringRoutes, { monitoring: services.monitoring });
  await app.register(capacityRoutes, { capacity: services.capacity, policies: services.prunePolicies });
  await app.register(runtimeLogRoutes, { logs: services.runtimeLogs, hub: services.hub });
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  await app.register(terminalRoutes, { terminals: services.terminals });
  await app.register(diagnosticRoutes, { summary: services.diagnosticSummary });
  await app.register(agentDistributionRoutes, { ca: () => ca });
  return app;
}
