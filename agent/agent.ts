import nodePath from 'node:path';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type EventAttributes, type EventKind, eventKind } from '../shared/command-catalogue.js';
import { EventSchema } from '../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../shared/logger.js';
import { type Clock, systemClock } from '../shared/time.js';
import { berthVersion } from '../shared/version.js';
import { createCapacity } from './capacity/capacity.js';
import { createUsedImageStore } from './capacity/used-images.js';
import { createCertificateRenewal } from './certificate-renewal.js';
import { createCommandRunner } from './command-runner.js';
import type { AgentConfig } from './config.js';
import type { BackoffOptions } from './connection/backoff.js';
import { ControlStream } from './connection/control-stream.js';
import type { LinkTarget } from './connection/dial.js';
import { createDesiredState } from './desired-state.js';
import { createDockerEngine, type DockerEngine } from './docker/engine.js';
import { createDockerWatch } from './docker/watch.js';
import { createCaddyEdge } from './edge/caddy-edge.js';
import { startUpstreamResolver, type UpstreamResolver } from './edge/resolver.js';
import { connectResolverDaemon } from './edge/resolver-daemon.js';
import type { DeploymentDeps } from './handlers/deployment.js';
import { type HostFactsJson, readHostFacts } from './handlers/host-facts.js';
import { reconcile } from './handlers/runtime.js';
import { createJsonPersister } from './json-file.js';
import { type Observability, openObservability } from './observability.js';
import { createReplayCache } from './replay-cache.js';
import { createSpool, type SpooledEvent } from './spool.js';
import { readCredentials, readEnrollment, statePaths } from './state-dir.js';
import { type AgentStatus, statusFromState } from './status.js';
import { createTerminalHost } from './terminal/terminal-host.js';
import { type Containers, createDockerContainers } from './workloads/containers.js';
import { createDockerClient } from './workloads/docker-client.js';
import type { HealthProbe } from './workloads/health-checks.js';
import { createListenPortStore } from './workloads/listen-ports.js';
import { berthNetwork, ensureBerthNetwork } from './workloads/network.js';
import { checkListenerMigration, createCaddyTrafficSwitch, type TrafficSwitch } from './workloads/traffic-switch.js';

/** Timings, overridable so tests run in milliseconds; production uses the defaults. */
export interface AgentTiming {
  backoff?: BackoffOptions;
  resetBackoffAfterMs?: number;
  /** Docker reachability check period (30 s). */
  dockerCheckMs?: number;
  /** Certificate renewal check period (1 h). */
  renewalCheckMs?: number;
  /** How often the last desired state is reconciled again (30 s). */
  reconcileMs?: number;
  welcomeTimeoutMs?: number;
  goodbyeTimeoutMs?: number;
  /** Telemetry sample interval until the Welcome sets one (5 s). */
  telemetryMs?: number;
}

/** Collaborators of {@link createAgent}; everything but `log` has a production default. */
export interface AgentDeps {
  log: Logger;
  clock?: Clock;
  random?: () => number;
  docker?: DockerEngine;
  hostFacts?: () => HostFactsJson;
  pid?: number;
  timing?: AgentTiming;
  /** The containers deployments run in: Berth's containers on the Docker engine at `dockerHost` by default. */
  containers?: Containers;
  /** Readies the engine before each deployment: creates Berth's Docker network by default. */
  prepareContainers?: () => Promise<void>;
  /**
   * The edge proxy deployments switch traffic on; null for none. By default Caddy at `caddyAdminUrl`, with the
   * agent's loopback resolver (started with the agent) answering for the containers.
   */
  traffic?: TrafficSwitch | null;
  /**
   * How to run this agent's CLI again (see AgentCliIo.selfCommand): with it the upstream resolver runs as its own
   * process, which outlives the agent as Caddy does; without it (tests in one process) it runs inside the agent.
   */
  resolverCommand?: readonly string[] | undefined;
  /** One health check of a published port: the real HTTP/TCP check by default. */
  healthProbe?: HealthProbe;
  /** false: no monitoring samples (tests of other parts with a fake engine). */
  telemetry?: boolean;
}

/** The running agent; see {@link createAgent}. */
export interface Agent {
  /** Loads the state folder and starts the link. Rejects with {@link NotEnrolledError} before enrollment. */
  start(): Promise<void>;
  /** Says Goodbye, closes the link and flushes the spool, replay cache and status to disk. */
  stop(reason?: string): Promise<void>;
  status(): AgentStatus;
  /** Resolves when the link has ended for good: `revoked`, or `stopped` after {@link Agent.stop}. */
  finished(): Promise<'stopped' | 'revoked'>;
}

/** Thrown by {@link Agent.start} when the state folder holds no enrollment. */
export class NotEnrolledError extends Error {
  override readonly name = 'NotEnrolledError';
}

/** Capabilities announced in every Hello: what the handlers can answer today. */
export const agentCapabilities = ['host-facts', 'docker-info', 'deployments'];

/**
 * The agent's composition root (STYLE.md 6): builds the link, the command runner, the replay cache, the spool,
 * the Docker watch and certificate renewal from `config`, wires them together and owns their timers.
 */
export function createAgent(
  config: Pick<AgentConfig, 'stateDir' | 'dockerHost' | 'caddyAdminUrl'> &
    Partial<Pick<AgentConfig, 'reconcileSeconds' | 'edgeResolverPort'>> &
    Partial<Pick<AgentConfig, 'proxyHttpPort' | 'proxyHttpsPort' | 'acmeDirectoryUrl' | 'acmeEmail' | 'acmeCaRoots'>>,
  deps: AgentDeps,
): Agent {
  const { log } = deps;
  const clock = deps.clock ?? systemClock;
  const timing = deps.timing ?? {};
  const paths = statePaths(config.stateDir);
  const docker = deps.docker ?? createDockerEngine({ endpoint: config.dockerHost });
  const hostFacts = deps.hostFacts ?? (() => readHostFacts());
  const persistError = (file: string) => (error: unknown) => log.error({ err: error, file }, 'could not save state');
  const cache = createReplayCache({ file: paths.replayCache, onPersistError: persistError(paths.replayCache) });
  const spool = createSpool({ file: paths.spool, onPersistError: persistError(paths.spool) });
  let current: AgentStatus;
  const statusFile = createJsonPersister(paths.status, () => current, persistError(paths.status), 0o644);
  let lastAckWrite = 0;
  let stream: ControlStream | undefined;
  let renewalTimer: NodeJS.Timeout | undefined;
  let observability: Observability | undefined;
  let resolveFinished!: (outcome: 'stopped' | 'revoked') => void;
  const finished = new Promise<'stopped' | 'revoked'>((resolve) => {
    resolveFinished = resolve;
  });
  const send = (payload: Parameters<ControlStream['send']>[0]) => stream?.send(payload) ?? false;
  const dockerClient = createDockerClient(config.dockerHost);
  let resolver: UpstreamResolver | undefined;
  const usedImages = createUsedImageStore(config.stateDir);
  const deployments: DeploymentDeps = {
    containers: deps.containers ?? createDockerContainers({ docker: dockerClient, log, network: berthNetwork }),
    prepare: deps.prepareContainers ?? (() => ensureBerthNetwork(dockerClient)),
    isDesired: (deploymentId) => desired.current()?.runtimes.some((r) => r.deploymentId === deploymentId) ?? false,
    recordImage: async (image) => {
      try {
        const { Id } = await dockerClient.getImage(image).inspect();
        await usedImages.record(Id, image, clock());
      } catch (error) {
        log.warn({ err: error, image }, 'could not record the image a deployment used');
      }
    },
    // The default switch needs the resolver, which binds its socket in start(): set there.
    traffic: deps.traffic ?? null,
    listenPorts: createListenPortStore(config.stateDir),
    probe: deps.healthProbe,
    emit: (kind, attributes) => emit(kind, attributes),
    log,
    running: new Map(),
  };
  const desired = createDesiredState({
    reconcile: (document) => reconcile(document, deployments, log),
    intervalMs: timing.reconcileMs ?? (config.reconcileSeconds ?? 30) * 1000,
    log,
  });
  // Host routes and TLS in Caddy; the resolver binds in start(), so its address is read when a document is built.
  const edge = createCaddyEdge({
    adminUrl: config.caddyAdminUrl,
    stateDir: config.stateDir,
    httpPort: config.proxyHttpPort ?? 80,
    httpsPort: config.proxyHttpsPort ?? 443,
    acme: {
      directoryUrl: config.acmeDirectoryUrl ?? 'https://acme-v02.api.letsencrypt.org/directory',
      email: config.acmeEmail ?? '',
      caRootsFile: config.acmeCaRoots ?? '',
    },
    upstreams: {
      // No resolver: a port nothing answers on, so Caddy answers 503 rather than guess at a container.
      get address() {
        return resolver?.address ?? '127.0.0.1:1';
      },
      get: (resourceId) => resolver?.get(resourceId) ?? null,
    },
    log,
  });
  // Sessions dial with the agent's credentials, which are read once it is enrolled (in start).
  let loadLinkTarget: (() => Promise<LinkTarget>) | undefined;
  const terminals = createTerminalHost({
    docker: dockerClient,
    containers: deployments.containers,
    loadTarget: () => (loadLinkTarget ?? (() => Promise.reject(new Error('not enrolled'))))(),
    log,
  });
  const runner = createCommandRunner({
    cache,
    handlers: {
      hostFacts,
      docker,
      proxyAdminUrl: config.caddyAdminUrl,
      deployments,
      edge,
      terminals,
      capacity: createCapacity({
        docker: dockerClient,
        stateDir: config.stateDir,
        used: usedImages,
        isDesired: (deploymentId) => deployments.isDesired(deploymentId),
        log,
      }),
    },
    send,
    clock,
    log,
  });
  const dockerWatch = createDockerWatch({
    engine: docker,
    intervalMs: timing.dockerCheckMs ?? 30_000,
    onChange: (facts) =>
      facts.reachable
        ? emit(eventKind.dockerReachable, { version: facts.version, apiVersion: facts.apiVersion })
        : emit(eventKind.dockerUnreachable, { error: facts.error }),
  });

  /** Starts the resolver and the Caddy switch over it; without a resolver (say, its port is taken) routes are static. */
  async function startTraffic(): Promise<TrafficSwitch> {
    try {
      const file = nodePath.join(config.stateDir, 'edge-resolver.json');
      const port = config.edgeResolverPort ?? 0;
      resolver = deps.resolverCommand
        ? await connectResolverDaemon({ file, port, command: deps.resolverCommand, log })
        : await startUpstreamResolver({ host: '127.0.0.1', port, file, log });
    } catch (error) {
      log.error({ err: error }, 'the upstream resolver did not start; every traffic switch will reload Caddy');
    }
    return createCaddyTrafficSwitch({ adminUrl: config.caddyAdminUrl, log, resolver });
  }

  function sendEvent(event: SpooledEvent): boolean {
    const value = create(EventSchema, { ...event, observedAt: timestampFromDate(new Date(event.observedAt)) });
    return send({ case: 'event', value });
  }

  function emit<K extends EventKind>(kind: K, attributes: EventAttributes<K>): void {
    // Every attribute is a string on the wire; the spool keeps them as such.
    const event = { kind, observedAt: clock().toISOString(), attributes: attributes as Record<string, string> };
    const { queued, dropped } = spool.counts();
    // Straight out only when nothing is waiting: a spooled backlog goes first, so the order is kept.
    if (queued === 0 && dropped === 0 && sendEvent(event)) return;
    spool.push(event);
    writeStatus();
  }

  function flushSpool(): void {
    const { events, dropped } = spool.takeAll();
    for (const [index, event] of events.entries()) {
      if (!sendEvent(event)) {
        spool.putBack(events.slice(index), dropped);
        return;
      }
    }
    const note = {
      kind: eventKind.spoolDropped,
      observedAt: clock().toISOString(),
      attributes: { count: String(dropped) },
    };
    if (dropped > 0 && !sendEvent(note)) spool.putBack([], dropped);
  }

  function writeStatus(): void {
    current = { ...current, spool: spool.counts(), updatedAt: clock().toISOString() };
    statusFile.schedule();
  }

  return {
    async start() {
      const enrollment = await readEnrollment(paths);
      if (!enrollment) throw new NotEnrolledError(`this server is not enrolled (no ${paths.agentJson})`);
      await Promise.all([cache.load(), spool.load()]);
      if (deps.traffic === undefined) deployments.traffic = await startTraffic();
      const { serverId } = enrollment;
      current = {
        state: 'idle',
        serverId,
        sessionId: null,
        connectedSince: null,
        lastError: null,
        reconnectAttempt: 0,
        spool: spool.counts(),
        pid: deps.pid ?? process.pid,
        updatedAt: clock().toISOString(),
      };
      const renewal = createCertificateRenewal({ paths, serverId, send, clock, log });
      const loadTarget = async () => ({
        address: enrollment.grpcUrl,
        serverName: enrollment.grpcServerName,
        ...(await readCredentials(paths)),
      });
      loadLinkTarget = loadTarget;
      if (deps.telemetry !== false) {
        observability = await openObservability({
          loadTarget,
          docker: dockerClient,
          stateDir: config.stateDir,
          clock,
          log,
          telemetryMs: timing.telemetryMs,
        });
      }
      const checkRenewal = (newSession: boolean) =>
        renewal.check(newSession).catch((error: unknown) => log.error({ err: error }, 'certificate check failed'));
      stream = new ControlStream({
        loadTarget,
        hello: async () => {
          const host = hostFacts();
          const dockerFacts = await docker.facts();
          return {
            serverId,
            agentVersion: berthVersion,
            capabilities: agentCapabilities,
            host: { ...host, memoryBytes: BigInt(host.memoryBytes) },
            docker: dockerFacts,
          };
        },
        onMessage: (message) => {
          const { payload } = message;
          if (payload.case === 'command') void runner.handle(payload.value);
          else if (payload.case === 'desiredState') desired.receive(payload.value.version, payload.value.documentJson);
          else if (payload.case === 'certificateIssued') {
            renewal.onIssued(payload.value).catch((error: unknown) => log.error({ err: error }, 'renewal failed'));
          } else log.debug({ kind: payload.case }, 'ignoring a message this agent version does not handle yet');
        },
        onStateChange: (state) => {
          // Backfill first, so the status written for this state already shows the emptied spool.
          if (state.t === 'open') flushSpool();
          current = statusFromState(state, current, clock(), spool.counts());
          statusFile.schedule();
          if (state.t === 'open') void checkRenewal(true);
          // Samples are taken all along; they go out only while the control link is up.
          if (state.t === 'open') {
            observability?.linkUp(state.telemetryIntervalMs);
          } else observability?.linkDown();
          if (state.t === 'revoked') resolveFinished('revoked');
        },
        onHeartbeatAck: (at) => {
          current = { ...current, lastHeartbeatAckAt: at.toISOString() };
          // Every ack would mean a disk write every few seconds; twice a minute is fresh enough for a status.
          if (at.getTime() - lastAckWrite >= 30_000) {
            lastAckWrite = at.getTime();
            writeStatus();
          }
        },
        log,
        clock,
        random: deps.random ?? Math.random,
        backoff: timing.backoff,
        resetBackoffAfterMs: timing.resetBackoffAfterMs,
        welcomeTimeoutMs: timing.welcomeTimeoutMs,
        goodbyeTimeoutMs: timing.goodbyeTimeoutMs,
      });
      emit(eventKind.agentStarted, { version: berthVersion });
      // Zero-downtime switches need the kernel to hand queued connections to Caddy's new socket (root only).
      void checkListenerMigration({ log, enable: process.getuid?.() === 0 });
      dockerWatch.start();
      await observability?.start();
      desired.start();
      await edge.start();
      renewalTimer = setInterval(() => void checkRenewal(false), timing.renewalCheckMs ?? 3_600_000);
      log.info({ serverId, grpcUrl: enrollment.grpcUrl }, 'agent starting');
      stream.start();
    },

    async stop(reason = 'shutdown') {
      clearInterval(renewalTimer);
      await desired.stop();
      await edge.stop();
      await dockerWatch.stop();
      await observability?.stop();
      terminals.stopAll();
      // Let running commands finish so their results can still go out on this stream.
      await runner.idle();
      await stream?.stop(reason);
      const results = await Promise.allSettled([
        spool.flush(),
        cache.flush(),
        statusFile.flush(),
        resolver?.close() ?? Promise.resolve(),
      ]);
      for (const result of results) if (result.status === 'rejected') log.error({ err: result.reason }, 'flush failed');
      resolveFinished('stopped');
    },

    status: () => current,
    finished: () => finished,
  };
}
