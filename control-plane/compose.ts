import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../shared/logger.js';
import type { CertificateAuthority } from '../shared/pki.js';
import { type Clock, systemClock } from '../shared/time.js';
import { type AgentGateway, createAgentGateway } from './agent-gateway/gateway.js';
import { buildApp, listeningUrl } from './app.js';
import type { ControlPlaneConfig } from './config.js';
import { createNotifyHub, type NotifyHub } from './db/notify-hub.js';
import { commandOutcomesChannel, commandsChannel } from './modules/agent-commands/channels.js';
import { deploymentEventsChannel } from './modules/deployments/events.js';
import { runtimeLogsChannel } from './modules/runtime-logs/store.js';
import type { KeyRing } from './secrets/key-ring.js';
import { createServices, type Services } from './services.js';

/** What {@link composeControlPlane} is built from: settings, a logger, an open and migrated ORM, its keys. */
export interface CompositionInput {
  config: ControlPlaneConfig;
  log: Logger;
  orm: MikroORM;
  /** For the notification hub's LISTEN connection; without it (some tests) waits re-check once a second. */
  databaseUrl: string | undefined;
  keyRing: KeyRing;
  ca: CertificateAuthority;
  clock?: Clock;
}

/** The parts of a control plane, wired but not started. */
export interface ControlPlaneParts {
  app: FastifyInstance;
  gateway: AgentGateway;
  services: Services;
  hub: NotifyHub;
  clock: Clock;
  /** The gRPC port agents dial once the gateway listens (the configured one before). */
  grpcPort(): number;
  /** `host:port` agents dial for the gateway. */
  grpcAddress(): string;
  /** Starts the agent gateway (once; the hub is already listening); the HTTP app is the caller's to listen. */
  startLink(): Promise<void>;
  /** Stops the gateway (agents reconnect elsewhere), the HTTP app, then the hub. */
  stop(): Promise<void>;
}

/**
 * The control plane's composition root: one clock, one notification hub and one set of services (with its one
 * command service) shared by the HTTP app and the agent gateway. `main.ts` adds the database and the signals;
 * tests use the same function, so what they drive is what runs.
 */
export async function composeControlPlane(input: CompositionInput): Promise<ControlPlaneParts> {
  const { config, log, orm, ca } = input;
  const clock = input.clock ?? systemClock;
  const hub = createNotifyHub({
    databaseUrl: input.databaseUrl,
    channels: [commandsChannel, commandOutcomesChannel, deploymentEventsChannel, runtimeLogsChannel],
    log,
    clock,
  });
  let app: FastifyInstance | undefined;
  let boundGrpcPort = config.grpcPort;
  const publicUrl = () =>
    config.publicUrl ?? (app ? listeningUrl(app, config) : `http://${config.httpHost}:${config.httpPort}`);
  const grpcAddress = () => config.grpcPublicAddress ?? `${new URL(publicUrl()).hostname}:${boundGrpcPort}`;
  const services = createServices({ config, log, clock, hub, keyRing: input.keyRing, ca, publicUrl, grpcAddress });
  services.edge.useEntityManager(orm.em);
  app = await buildApp({ config, log, orm, ca, services });
  const gateway = createAgentGateway({
    orm,
    hub,
    ca,
    log,
    clock,
    host: config.grpcHost ?? config.httpHost,
    port: config.grpcPort,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    unreachableAfterMs: config.unreachableAfterMs,
    telemetryIntervalMs: config.telemetryIntervalMs,
    telemetry: services.monitoring.ingest,
    terminals: services.terminalBroker,
    agentCertificateDays: config.agentCertificateDays,
    extraServerNames: extraServerNames(config),
    hooks: services.agentLink,
  });
  // Waits in request handlers (synchronous deployments, cancels, streams) need the hub before the first request.
  await hub.start();
  const httpApp = app;
  let terminalSweep: NodeJS.Timeout | undefined;
  let linkStarted = false;
  return {
    app: httpApp,
    gateway,
    services,
    hub,
    clock,
    grpcPort: () => boundGrpcPort,
    grpcAddress,
    async startLink() {
      if (linkStarted) return;
      linkStarted = true;
      boundGrpcPort = (await gateway.start()).port;
      services.monitoring.startJobs(orm);
      services.prunePolicies.start(orm);
      services.runtimeLogs.start(orm);
      services.healthHistory.start(orm);
      // Terminal sessions never attached, or left idle, expire on their own too.
      terminalSweep = setInterval(() => {
        services.terminals
          .expire(orm.em.fork(), null)
          .catch((error: unknown) => log.error({ err: error }, 'terminal expiry failed'));
      }, 60_000);
    },
    async stop() {
      await gateway.stop();
      // Observations started by the link's hooks finish before the database goes away.
      await services.certificateJobs.stop();
      await services.monitoring.stopJobs();
      await services.prunePolicies.stop();
      await services.runtimeLogs.stop();
      await services.healthHistory.stop();
      clearInterval(terminalSweep);
      await httpApp.close();
      await hub.stop();
    },
  };
}

// Names the gateway certificate also carries, for agents that verify the host they dial.
function extraServerNames(config: ControlPlaneConfig): string[] {
  const names = new Set<string>();
  if (config.publicUrl) names.add(new URL(config.publicUrl).hostname);
  if (config.grpcPublicAddress) names.add(config.grpcPublicAddress.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
  return [...names];
}
