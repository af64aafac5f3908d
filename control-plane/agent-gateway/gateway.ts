import { Buffer } from 'node:buffer';
import { Server as GrpcServer, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import type { MikroORM } from '@mikro-orm/postgresql';
import { type AgentServiceHandlers, agentServiceDefinition } from '../../shared/agent-service-definition.js';
import { errorKinds } from '../../shared/errors.js';
import type { TerminalFromAgent, TerminalToAgent } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import { type CertificateAuthority, issueGatewayCertificate } from '../../shared/pki.js';
import { type Clock, systemClock } from '../../shared/time.js';
import type { NotifyHub } from '../db/notify-hub.js';
import { commandsChannel } from '../modules/agent-commands/channels.js';
import { sweepCommands } from '../modules/agent-commands/delivery.js';
import { Server } from '../modules/servers/entity.js';
import type { AgentLinkHooks } from './hooks.js';
import { credentialProblem, peerIdentity } from './identity.js';
import { sweepLiveness } from './liveness.js';
import { createPeriodicTask } from './periodic.js';
import { checkRevocations } from './revocation.js';
import { AgentSession, type SessionHost } from './session.js';
import { serveTelemetryStream, type TelemetrySink } from './telemetry-stream.js';

/** Where the gateway hands an agent's Terminal stream (the terminals module's broker). */
export interface TerminalStreamSink {
  accept(
    serverId: string,
    call: ServerDuplexStream<TerminalFromAgent, TerminalToAgent>,
    first: TerminalFromAgent,
  ): boolean;
}

/** What {@link createAgentGateway} needs. */
export interface AgentGatewayOptions {
  orm: MikroORM;
  /** The process's notification hub (started and stopped by its owner): queued commands wake their session. */
  hub: Pick<NotifyHub, 'subscribe' | 'onListening'>;
  /** The agent CA: it signs the gateway's certificate and is the only CA whose client certificates are accepted. */
  ca: CertificateAuthority;
  log: Logger;
  clock?: Clock;
  host: string;
  /** 0 picks a free port; `start()` returns the one bound. */
  port: number;
  /** Sent to agents in the Welcome: how often they heartbeat. */
  heartbeatIntervalMs: number;
  /** Silence after which a server is marked `unreachable` (and its stream ended). */
  unreachableAfterMs: number;
  /** Sent to agents in the Welcome: how often they sample and flush telemetry (0: the agent's default). */
  telemetryIntervalMs?: number;
  /** Where telemetry batches are stored; without one the Telemetry stream is refused. */
  telemetry?: TelemetrySink;
  /** Where agents' terminal streams go; without one the Terminal stream is refused. */
  terminals?: TerminalStreamSink;
  /** Lifetime of client certificates issued on renewal. */
  agentCertificateDays: number;
  /** What the domain modules plug into the link (deployments). */
  hooks?: AgentLinkHooks;
  /** Names (DNS or IP) agents may dial besides `berth-control-plane`, `localhost` and 127.0.0.1. */
  extraServerNames?: string[];
}

/** The gRPC endpoint agents connect to (ARCHITECTURE.md §3). */
export interface AgentGateway {
  /** Issues the gateway's TLS certificate, binds, starts listening for queued commands and the sweeps. */
  start(): Promise<{ port: number }>;
  /**
   * Stops the sweeps and the LISTEN connection, ends every stream (UNAVAILABLE, "shutting down"; agents
   * reconnect, possibly to another replica), waits up to 5 s for the server to drain, then forces it. Resolves
   * once every session has recorded its disconnect. Call it before closing the ORM.
   */
  stop(): Promise<void>;
  /** Servers with an open session (past its Hello) in this process. */
  connectedServerIds(): string[];
}

const sweepIntervalMs = 1000;
const drainTimeoutMs = 5000;
const maxMessageBytes = 1024 * 1024;
// Server pings find agents whose host vanished without a TCP reset; heartbeats find a stuck agent.
const keepaliveTimeMs = 10_000;
const keepaliveTimeoutMs = 5_000;

/**
 * Creates the agent gateway: a grpc-js server with mutual TLS (client certificates from the agent CA required),
 * one {@link AgentSession} per `Connect` stream, command delivery on NOTIFY, and the liveness, revocation and
 * command sweeps. Nothing runs until `start()`.
 */
export function createAgentGateway(options: AgentGatewayOptions): AgentGateway {
  const { orm, ca } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log.child({ component: 'agent-gateway' });
  // Every stream, open or not yet past its Hello; and the one serving each server.
  const sessions = new Set<AgentSession>();
  const serving = new Map<string, AgentSession>();
  const telemetryStreams = new Set<ReturnType<typeof serveTelemetryStream>>();
  let server: GrpcServer | undefined;
  let stopping = false;

  const host: SessionHost = {
    orm,
    clock,
    log,
    ca,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    unreachableAfterMs: options.unreachableAfterMs,
    telemetryIntervalMs: options.telemetryIntervalMs ?? 0,
    agentCertificateDays: options.agentCertificateDays,
    hooks: options.hooks ?? {},
    claim(session) {
      const previous = serving.get(session.serverId);
      serving.set(session.serverId, session);
      if (previous !== undefined && previous !== session) {
        previous.end('conflict', 'replaced by a newer connection from the same server');
      }
    },
    release(session) {
      if (serving.get(session.serverId) === session) serving.delete(session.serverId);
    },
    // Only once the session has recorded its disconnect, so stop() can wait for that.
    forget(session) {
      sessions.delete(session);
    },
  };

  const handlers: AgentServiceHandlers = {
    connect(call) {
      const identity = peerIdentity(call.getAuthContext());
      if (identity === undefined) {
        const details = 'a client certificate issued by the Berth agent CA for a server is required';
        call.emit('error', { code: errorKinds.unauthenticated.grpcStatus, details });
        return;
      }
      if (stopping) {
        const details = 'the control plane is shutting down; reconnect';
        call.emit('error', { code: errorKinds.service_unavailable.grpcStatus, details });
        return;
      }
      const session = new AgentSession(call, identity, host);
      sessions.add(session);
    },
    telemetry(call) {
      const identity = peerIdentity(call.getAuthContext());
      if (identity === undefined) {
        const details = 'a client certificate issued by the Berth agent CA for a server is required';
        call.emit('error', { code: errorKinds.unauthenticated.grpcStatus, details });
        return;
      }
      if (stopping || options.telemetry === undefined) {
        const details = stopping ? 'the control plane is shutting down; reconnect' : 'telemetry is not accepted here';
        call.emit('error', { code: errorKinds.service_unavailable.grpcStatus, details });
        return;
      }
      const stream = serveTelemetryStream(call, identity, { orm, clock, log, sink: options.telemetry });
      telemetryStreams.add(stream);
      const forget = () => telemetryStreams.delete(stream);
      call.on('finish', forget);
      call.on('cancelled', forget);
      call.on('error', forget);
    },
    terminal(call) {
      const identity = peerIdentity(call.getAuthContext());
      const refuse = (kind: keyof typeof errorKinds, details: string) =>
        call.emit('error', { code: errorKinds[kind].grpcStatus, details });
      if (identity === undefined) {
        refuse('unauthenticated', 'a client certificate issued by the Berth agent CA for a server is required');
        return;
      }
      const sink = options.terminals;
      if (stopping || sink === undefined) {
        refuse('service_unavailable', 'terminals are not accepted here');
        return;
      }
      call.once('data', (first: TerminalFromAgent) => {
        call.pause();
        void (async () => {
          const row = await orm.em
            .fork()
            .findOne(
              Server,
              { id: identity.serverId },
              { fields: ['lifecycleStatus', 'credentialsRevokedAt', 'certificateSerial'] },
            );
          const problem = credentialProblem(row, identity);
          if (problem !== null) refuse(problem.kind, problem.reason);
          else if (!sink.accept(identity.serverId, call, first)) {
            refuse('not_found', 'no terminal session of this server waits for this stream');
          } else call.resume();
        })().catch((error: unknown) => {
          log.error({ err: error }, 'could not accept a terminal stream');
          refuse('service_unavailable', 'the terminal stream could not be accepted');
        });
      });
    },
  };

  let unsubscribe: Array<() => void> = [];
  // Notifications sent while the hub's connection was down are lost: re-check every session held here.
  const listen = () => [
    options.hub.subscribe(commandsChannel, (serverId) => serving.get(serverId)?.requestDelivery()),
    options.hub.onListening(() => {
      for (const session of serving.values()) session.requestDelivery();
    }),
  ];

  const tasks = [
    createPeriodicTask(
      'liveness',
      sweepIntervalMs,
      async () => {
        const em = orm.em.fork();
        const unreachableAfterMs = options.unreachableAfterMs;
        await sweepLiveness({ em, now: clock(), log, unreachableAfterMs, sessions });
      },
      log,
    ),
    createPeriodicTask(
      'revocation',
      sweepIntervalMs,
      async () => {
        await checkRevocations(orm.em.fork(), sessions);
      },
      log,
    ),
    createPeriodicTask(
      'commands',
      sweepIntervalMs,
      async () => {
        await sweepCommands({
          em: orm.em.fork(),
          now: clock(),
          log,
          servedServerIds: [...serving.keys()],
          requestDelivery: (serverId) => serving.get(serverId)?.requestDelivery(),
        });
        await options.hooks?.onSweep?.(orm.em.fork());
      },
      log,
    ),
  ];

  return {
    async start() {
      if (server !== undefined) throw new Error('the agent gateway is already started');
      stopping = false;
      const certificate = await issueGatewayCertificate(ca, 365, options.extraServerNames ?? []);
      const credentials = ServerCredentials.createSsl(
        Buffer.from(ca.certificatePem),
        [{ cert_chain: Buffer.from(certificate.certificatePem), private_key: Buffer.from(certificate.privateKeyPem) }],
        true,
      );
      const grpcServer = new GrpcServer({
        'grpc.keepalive_time_ms': keepaliveTimeMs,
        'grpc.keepalive_timeout_ms': keepaliveTimeoutMs,
        'grpc.max_receive_message_length': maxMessageBytes,
      });
      grpcServer.addService(agentServiceDefinition, handlers);
      server = grpcServer;
      const address = options.host.includes(':')
        ? `[${options.host}]:${options.port}`
        : `${options.host}:${options.port}`;
      try {
        const port = await new Promise<number>((resolve, reject) => {
          grpcServer.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
        });
        unsubscribe = listen();
        for (const task of tasks) task.start();
        log.info({ host: options.host, port }, 'agent gateway listening');
        return { port };
      } catch (error) {
        grpcServer.forceShutdown();
        server = undefined;
        throw error;
      }
    },

    async stop() {
      stopping = true;
      await Promise.all(tasks.map((task) => task.stop()));
      for (const stop of unsubscribe) stop();
      unsubscribe = [];
      const grpcServer = server;
      server = undefined;
      if (grpcServer !== undefined) {
        const drained = new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
        for (const session of sessions)
          session.end('service_unavailable', 'the control plane is shutting down; reconnect');
        for (const stream of telemetryStreams) stream.close('the control plane is shutting down; reconnect');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), drainTimeoutMs);
        });
        if ((await Promise.race([drained, timedOut])) === 'timeout') {
          log.warn('agent streams did not drain in time; closing their connections');
          grpcServer.forceShutdown();
        }
        clearTimeout(timer);
      }
      await Promise.all([...sessions].map((session) => session.done));
      log.info('agent gateway stopped');
    },

    connectedServerIds() {
      return [...serving.keys()];
    },
  };
}
