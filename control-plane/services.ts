import type { Logger } from '../shared/logger.js';
import type { CertificateAuthority } from '../shared/pki.js';
import type { Clock } from '../shared/time.js';
import { type AgentLinkHooks, combineHooks } from './agent-gateway/hooks.js';
import type { ControlPlaneConfig } from './config.js';
import type { NotifyHub } from './db/notify-hub.js';
import { createAccessPolicyService } from './modules/access-policies/service.js';
import { createCommandService } from './modules/agent-commands/service.js';
import { createPrunePolicies } from './modules/capacity/policies.js';
import { createCapacityService } from './modules/capacity/service.js';
import { createCertificateJobs } from './modules/certificates/agent-link.js';
import { createCertificateObserver } from './modules/certificates/observe.js';
import { createCertificateService } from './modules/certificates/service.js';
import { createConfigurationService } from './modules/configuration/service.js';
import { createDeployTokenService } from './modules/deploy-tokens/service.js';
import { createDeploymentAgentLink, deploymentHooks } from './modules/deployments/agent-link.js';
import { createDeploymentReads } from './modules/deployments/reads.js';
import { createDeploymentService } from './modules/deployments/service.js';
import { createDeploymentWaits } from './modules/deployments/wait.js';
import { createDiagnosticSummary } from './modules/diagnostics/summary.js';
import { bindingServerIds as bindingServers, createBindingEdgeSource } from './modules/domain-bindings/edge-source.js';
import { createOwnershipChecks } from './modules/domain-bindings/ownership.js';
import { createDomainBindingService } from './modules/domain-bindings/service.js';
import { servedPublicUrl } from './modules/edge/access-summary.js';
import { edgeHooks } from './modules/edge/agent-link.js';
import { createEdgeService } from './modules/edge/service.js';
import { createEnvironmentService } from './modules/environments/service.js';
import { createIdentityService } from './modules/identity/service.js';
import { createMonitoringService } from './modules/monitoring/service.js';
import { createProjectService } from './modules/projects/service.js';
import { createResourceService } from './modules/resources/service.js';
import { createResourceVariableService } from './modules/resources/variables.js';
import { createResourceHealth } from './modules/runtime/health.js';
import { createHealthHistory } from './modules/runtime/health-history.js';
import { createRuntimeService } from './modules/runtime/service.js';
import { createRuntimeLogService } from './modules/runtime-logs/service.js';
import { createLogLineStore } from './modules/runtime-logs/store.js';
import { createConnectivityService } from './modules/servers/connectivity.js';
import { createEnrollmentService } from './modules/servers/enrollment.js';
import { createLocalServerRegistration } from './modules/servers/local-server.js';
import { createServerService } from './modules/servers/service.js';
import { createSshCredentialService } from './modules/servers/ssh-credentials.js';
import { createSessionService } from './modules/sessions/service.js';
import { createTerminalBroker } from './modules/terminals/broker.js';
import { createTerminalService } from './modules/terminals/service.js';
import type { KeyRing } from './secrets/key-ring.js';

/** What every service of the control plane is built from. */
export interface ServiceDependencies {
  config: ControlPlaneConfig;
  log: Logger;
  /** The one clock of the process: requests, waits and sweeps all read it. */
  clock: Clock;
  /** The one notification hub of the process (waits for commands and deployments). */
  hub: NotifyHub;
  keyRing: KeyRing;
  /** The agent CA, which signs agent certificates at enrollment. */
  ca: CertificateAuthority;
  /** Where the API is reached, for links and install commands. */
  publicUrl: () => string;
  /** `host:port` agents dial for the gateway. */
  grpcAddress: () => string;
}

/**
 * Builds every domain service once, each from the same clock, hub and command service, so the HTTP routes, the
 * agent link and `berth dev`'s local server all act on one set of services.
 */
export function createServices(deps: ServiceDependencies) {
  const { config, log, clock: now, hub, keyRing, ca } = deps;
  const commands = createCommandService({ now, hub });
  const sessions = createSessionService({
    now,
    sessionTtlHours: config.sessionTtlHours,
    loginMaxFailures: config.loginMaxFailures,
    loginWindowSeconds: config.loginWindowSeconds,
  });
  const identity = createIdentityService({ now, publicUrl: deps.publicUrl });
  const projects = createProjectService({ now });
  const configuration = createConfigurationService({ now, keyRing });
  const environments = createEnvironmentService({ now, configuration });
  // The edge module is built further down; a summary is only asked for once everything is built.
  const resources = createResourceService({ now, accessSummary: (em, id) => edge.accessSummary(em, id) });
  const resourceVariables = createResourceVariableService({ now, resources, configuration });
  const deployTokens = createDeployTokenService({ now });
  const servers = createServerService({ now });
  const enrollment = createEnrollmentService({
    now,
    servers,
    ca: () => ca,
    enrollmentTtlMinutes: config.enrollmentTtlMinutes,
    agentCertificateDays: config.agentCertificateDays,
    publicUrl: deps.publicUrl,
    grpcAddress: deps.grpcAddress,
  });
  const connectivity = createConnectivityService({ now, servers, commands });
  const sshCredentials = createSshCredentialService({ now, keyRing, servers });
  const edge = createEdgeService({ now, log, commands, servers });
  const accessPolicies = createAccessPolicyService({ now, servers, publisher: edge.publisher });
  const deploymentWaits = createDeploymentWaits({ hub, now });
  const deployments = createDeploymentService({
    now,
    keyRing,
    commands,
    configuration,
    waits: deploymentWaits,
    deadlineMs: config.deploymentDeadlineSeconds * 1000,
  });
  const deploymentReads = createDeploymentReads({ now, deployments });
  const runtime = createRuntimeService({ now, commands, resources });
  const health = createResourceHealth({ now, resources, runtime });
  edge.useRouteSource(createBindingEdgeSource({ keyRing }));
  const domainBindings = createDomainBindingService({
    now,
    log,
    publisher: edge.publisher,
    checks: createOwnershipChecks({ resolverAddress: config.dnsResolver, httpPort: config.httpChallengePort }),
    plan: (em, serverId) => edge.plan(em, serverId),
  });
  const certificates = createCertificateService({
    now,
    log,
    keyRing,
    publisher: edge.publisher,
    serversOf: bindingServers,
  });
  const certificateObserver = createCertificateObserver({
    now,
    log,
    inspector: edge.inspector,
    serversOf: bindingServers,
  });
  const certificateJobs = createCertificateJobs({ now, log, observer: certificateObserver, commands });
  const monitoring = createMonitoringService({
    now,
    log,
    intervalMs: config.telemetryIntervalMs,
    storeLogLines: createLogLineStore({ keyRing, log }),
  });
  const healthHistory = createHealthHistory({
    now,
    log,
    health,
    resources,
    retention: monitoring.retention,
    intervalSeconds: config.healthHistoryIntervalSeconds,
  });
  const diagnosticSummary = createDiagnosticSummary({
    now,
    resources,
    health,
    edge,
    databaseMode: config.databaseUrl ? 'external' : 'embedded',
  });
  const terminalBroker = createTerminalBroker();
  const terminals = createTerminalService({ now, log, commands, broker: terminalBroker, resources, runtime });
  const runtimeLogs = createRuntimeLogService({ now, log, resources, retention: monitoring.retention });
  const agentLink: AgentLinkHooks = combineHooks(
    deploymentHooks(
      createDeploymentAgentLink({
        now,
        keyRing,
        log,
        commands,
        publicUrl: (em, serverId, resourceId) => servedPublicUrl(em, serverId, resourceId, (id) => edge.plan(em, id)),
      }),
    ),
    edgeHooks(edge),
    certificateJobs.hooks,
    runtimeLogs.hooks,
  );
  const localServer = createLocalServerRegistration({ servers, enrollment });
  const capacity = createCapacityService({ now, log, commands, servers });
  const prunePolicies = createPrunePolicies({
    now,
    log,
    capacity,
    servers,
    diskPercent: config.capacityPruneDiskPercent,
  });
  monitoring.onStored(async (_em, serverId, _at, batch) => prunePolicies.onBatch(serverId, batch));
  return {
    commands,
    sessions,
    identity,
    projects,
    configuration,
    environments,
    resources,
    resourceVariables,
    deployTokens,
    servers,
    enrollment,
    connectivity,
    sshCredentials,
    accessPolicies,
    deployments,
    deploymentReads,
    deploymentWaits,
    runtime,
    health,
    clock: now,
    edge,
    domainBindings,
    certificates,
    certificateObserver,
    certificateJobs,
    agentLink,
    localServer,
    monitoring,
    capacity,
    prunePolicies,
    runtimeLogs,
    healthHistory,
    terminals,
    terminalBroker,
    diagnosticSummary,
    hub,
  };
}

/** Every service of the control plane. */
export type Services = ReturnType<typeof createServices>;
