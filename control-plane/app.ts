import type { MikroORM } from '@mikro-orm/postgresql';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { CertificateAuthority } from '../shared/pki.js';
import { type Clock, systemClock } from '../shared/time.js';
import { agentDistributionRoutes } from './agent-distribution/routes.js';
import type { ControlPlaneConfig } from './config.js';
import { authenticatePlugin } from './http/authenticate.js';
import { errorHandlerPlugin } from './http/error-handler.js';
import { nulCharactersPlugin } from './http/nul-characters.js';
import { registerOpenApi } from './http/openapi.js';
import { pathParamsInBodyPlugin } from './http/path-params-in-body.js';
import { installValidators } from './http/validation.js';
import { accessPolicyRoutes } from './modules/access-policies/routes.js';
import { createAccessPolicyService } from './modules/access-policies/service.js';
import { createCommandService } from './modules/agent-commands/service.js';
import { createConfigurationService } from './modules/configuration/service.js';
import { deployTokenRoutes } from './modules/deploy-tokens/routes.js';
import { createDeployTokenService } from './modules/deploy-tokens/service.js';
import { createDeploymentEventsHub } from './modules/deployments/event-stream.js';
import { createDeploymentReads } from './modules/deployments/reads.js';
import { deploymentRoutes } from './modules/deployments/routes.js';
import { createDeploymentService } from './modules/deployments/service.js';
import { environmentRoutes } from './modules/environments/routes.js';
import { createEnvironmentService } from './modules/environments/service.js';
import { identityRoutes } from './modules/identity/routes.js';
import { createIdentityService } from './modules/identity/service.js';
import { projectRoutes } from './modules/projects/routes.js';
import { createProjectService } from './modules/projects/service.js';
import { resourceRoutes } from './modules/resources/routes.js';
import { createResourceService } from './modules/resources/service.js';
import { createResourceVariableService } from './modules/resources/variables.js';
import { createResourceHealth } from './modules/runtime/health.js';
import { runtimeRoutes } from './modules/runtime/routes.js';
import { createRuntimeService } from './modules/runtime/service.js';
import { createConnectivityService } from './modules/servers/connectivity.js';
import { createEnrollmentService } from './modules/servers/enrollment.js';
import { serverRoutes } from './modules/servers/routes.js';
import { createServerService } from './modules/servers/service.js';
import { createSshCredentialService } from './modules/servers/ssh-credentials.js';
import { sessionRoutes } from './modules/sessions/routes.js';
import { createSessionService } from './modules/sessions/service.js';
import { systemRoutes } from './modules/system/routes.js';
import type { KeyRing } from './secrets/key-ring.js';
import './http/request-context.js';

/** What {@link buildApp} needs: validated config, a logger and an open, migrated ORM. */
export interface AppDependencies {
  config: ControlPlaneConfig;
  log: Logger;
  orm: MikroORM;
  /** The agent CA (loaded or created by the caller), which signs agent certificates at enrollment. */
  ca: CertificateAuthority;
  /** Seals secret values (envelope encryption under the key-encryption key). */
  keyRing: KeyRing;
  /** For the LISTEN connection that wakes deployment event streams; without it, streams poll once a second. */
  databaseUrl?: string;
  /** `host:port` agents dial for the gateway; defaults to BERTH_GRPC_PUBLIC_ADDRESS or the public URL's host. */
  grpcAddress?: () => string;
  clock?: Clock;
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
 * The control plane's composition root: builds the services and the HTTP app around an open ORM. Returns the
 * fastify instance unstarted, so tests drive it with `inject()` and `main.ts` listens.
 */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, log, orm, ca, keyRing, clock = systemClock } = deps;
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
  });
  installValidators(app);

  const publicUrl = () => config.publicUrl ?? listeningUrl(app, config);
  const sessions = createSessionService({
    now: clock,
    sessionTtlHours: config.sessionTtlHours,
    loginMaxFailures: config.loginMaxFailures,
    loginWindowSeconds: config.loginWindowSeconds,
  });
  const identity = createIdentityService({ now: clock, publicUrl });
  const projects = createProjectService({ now: clock });
  const configuration = createConfigurationService({ now: clock, keyRing });
  const environments = createEnvironmentService({ now: clock, configuration });
  const resources = createResourceService({ now: clock });
  const resourceVariables = createResourceVariableService({ now: clock, resources, configuration });
  const deployTokens = createDeployTokenService({ now: clock });
  const commands = createCommandService({ now: clock });
  const servers = createServerService({ now: clock });
  const grpcAddress =
    deps.grpcAddress ?? (() => config.grpcPublicAddress ?? `${new URL(publicUrl()).hostname}:${config.grpcPort}`);
  const enrollment = createEnrollmentService({
    now: clock,
    servers,
    ca: () => ca,
    enrollmentTtlMinutes: config.enrollmentTtlMinutes,
    agentCertificateDays: config.agentCertificateDays,
    publicUrl,
    grpcAddress,
  });
  const connectivity = createConnectivityService({ now: clock, servers, commands });
  const sshCredentials = createSshCredentialService({ now: clock, keyRing, servers });
  const accessPolicies = createAccessPolicyService({ now: clock, servers });
  const deployments = createDeploymentService({
    now: clock,
    keyRing,
    commands,
    configuration,
    deadlineMs: config.deploymentDeadlineSeconds * 1000,
  });
  const deploymentReads = createDeploymentReads({ now: clock, deployments });
  const runtime = createRuntimeService({ now: clock, commands, resources });
  const health = createResourceHealth({ now: clock, resources, runtime });
  const deploymentEvents = createDeploymentEventsHub({
    ...(deps.databaseUrl ? { databaseUrl: deps.databaseUrl } : {}),
    log,
  });
  await deploymentEvents.start();
  app.addHook('onClose', async () => deploymentEvents.stop());

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
  await app.register(pathParamsInBodyPlugin);
  await registerOpenApi(app);

  await app.register(systemRoutes, { orm });
  await app.register(identityRoutes, { identity, sessions });
  await app.register(sessionRoutes, { sessions });
  await app.register(projectRoutes, { projects });
  await app.register(environmentRoutes, { environments });
  await app.register(resourceRoutes, { resources, variables: resourceVariables });
  await app.register(deploymentRoutes, { deployments, reads: deploymentReads, hub: deploymentEvents });
  await app.register(runtimeRoutes, { runtime, health });
  await app.register(deployTokenRoutes, { deployTokens });
  await app.register(serverRoutes, { servers, enrollment, connectivity, credentials: sshCredentials });
  await app.register(accessPolicyRoutes, { policies: accessPolicies });
  await app.register(agentDistributionRoutes, { ca: () => ca });
  return app;
}
