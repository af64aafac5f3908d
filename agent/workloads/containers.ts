import { setTimeout as delay } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import type { Logger } from '../../shared/logger.js';
import { containerCreateOptions } from './create-options.js';
import { engineFailure, hasEngineStatus } from './engine-errors.js';
import { imageExists, PullStreamError, pullImage } from './image-pull.js';
import { followLogLines, type LogLine, parseLogBuffer } from './log-lines.js';
import { berthLabels, type ContainerSpec, containerName } from './spec.js';

/** A Berth container as the engine last reported it. */
export interface ContainerInfo {
  id: string;
  /** Without Docker's leading `/`. */
  name: string;
  deploymentId: string;
  resourceId: string;
  /** Docker's `State.Status`: created, running, paused, restarting, removing, exited or dead. */
  state: string;
  running: boolean;
  /** The last exit code once the process has ended (exited, dead, restarting); null otherwise. */
  exitCode: number | null;
  /** Container port → host port on 127.0.0.1. Empty while stopped: the engine picks new ports at every start. */
  hostPorts: Record<number, number>;
  /**
   * Its address on Berth's network (the bridge the host reaches directly), where the proxy sends traffic; null
   * while stopped (the engine may hand out another address at the next start) or when it is not on that network.
   */
  networkIp: string | null;
  createdAt: string;
  /** When the current (or last) run began; null if it never started. */
  startedAt: string | null;
  /** How often the engine's restart policy has restarted it. */
  restartCount: number;
}

/** Why a container call failed. */
export type ContainerErrorCode =
  | 'image_not_found'
  | 'image_pull_failed'
  | 'docker_unavailable'
  | 'container_create_failed'
  | 'container_start_failed'
  /** No container with that id, or it vanished during the call. */
  | 'container_not_found'
  /** The container lacks `berth.managed=true`: Berth leaves it alone. */
  | 'not_managed'
  /** Any other refusal by the engine; the message carries its reason. */
  | 'engine_error';

/** A failed container call; `message` carries the engine's reason and names the image or container. */
export class ContainerError extends Error {
  override readonly name = 'ContainerError';
  constructor(
    readonly code: ContainerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The agent's view of the container engine; implemented over dockerode by {@link createDockerContainers}. */
export interface Containers {
  /**
   * Makes `image` available: an image the engine already has is used as is (no registry call), otherwise it is
   * pulled with progress lines. Rejects with `image_not_found` or `image_pull_failed`, or with the signal's
   * reason when aborted.
   */
  ensureImage(image: string, onProgress: (line: string) => void, signal?: AbortSignal): Promise<{ pulled: boolean }>;
  /**
   * Creates and starts the deployment's container. Idempotent: when a container labelled with this deployment
   * exists it is started if stopped and returned; a second one is never created. A container whose start fails
   * is left in place (state `created`) for its logs; remove it to retry from scratch.
   */
  createAndStart(spec: ContainerSpec): Promise<ContainerInfo>;
  /** The Berth container of a deployment, running or not. */
  findDeploymentContainer(deploymentId: string): Promise<ContainerInfo | null>;
  /** Berth containers of one resource, newest first. */
  listResourceContainers(resourceId: string): Promise<ContainerInfo[]>;
  /** Every Berth container on this engine, newest first. */
  listManagedContainers(): Promise<ContainerInfo[]>;
  /** The container, or null when it does not exist or is not Berth's. */
  inspect(containerId: string): Promise<ContainerInfo | null>;
  /** Starts a stopped Berth container (a running one is returned as is). */
  start(containerId: string): Promise<ContainerInfo>;
  /** SIGTERM, then SIGKILL after `graceSeconds`. Stopped or missing containers are not an error. */
  stop(containerId: string, graceSeconds: number): Promise<void>;
  /** Force-removes a Berth container; a missing one is not an error, a container not Berth's is refused. */
  remove(containerId: string): Promise<void>;
  /** The container's stored log lines, oldest first. */
  logs(containerId: string, options: { since?: Date; tail?: number }): Promise<LogLine[]>;
  /** Streams new log lines until the container stops or `signal` fires, then resolves. */
  followLogs(
    containerId: string,
    options: { since?: Date; signal: AbortSignal },
    onLine: (l: LogLine) => void,
  ): Promise<void>;
}

/** Options of {@link createDockerContainers}. */
export interface DockerContainersOptions {
  docker: Dockerode;
  log: Logger;
  /** The Docker network containers join; the engine's default bridge when undefined. */
  network?: string;
}

const managedFilter = `${berthLabels.managed}=true`;
const nameRaceAttempts = 20;
const nameRaceDelayMs = 50;
// The zero time Docker reports for "never started".
const neverStarted = '0001-01-01T00:00:00Z';

/** A {@link Containers} over a Docker engine. Only ever touches containers labelled `berth.managed=true`. */
export function createDockerContainers(options: DockerContainersOptions): Containers {
  const { docker, log } = options;
  // Without a network of its own a container is on the engine's default bridge, named "bridge".
  const network = options.network ?? 'bridge';

  /** Inspects a container and insists it is Berth's. */
  async function inspectManaged(containerId: string): Promise<ContainerInfo> {
    const found = await inspectOrNull(containerId);
    if (found === 'not_managed') throw notManaged(containerId);
    if (found === null) throw new ContainerError('container_not_found', `no container ${containerId}`);
    return found;
  }

  async function inspectOrNull(containerId: string): Promise<ContainerInfo | null | 'not_managed'> {
    try {
      const raw = await docker.getContainer(containerId).inspect();
      return raw.Config.Labels?.[berthLabels.managed] === 'true' ? toInfo(raw, network) : 'not_managed';
    } catch (error) {
      if (hasEngineStatus(error, 404)) return null;
      throw error;
    }
  }

  async function list(labels: string[]): Promise<ContainerInfo[]> {
    const summaries = await docker.listContainers({ all: true, filters: { label: [managedFilter, ...labels] } });
    // The list lacks exit codes and restart counts; a container removed in between is simply left out.
    const infos = await Promise.all(summaries.map((summary) => inspectOrNull(summary.Id)));
    return infos.filter((info): info is ContainerInfo => info !== null && info !== 'not_managed');
  }

  /**
   * After a name clash: the container holding `name` when it belongs to the same deployment (a concurrent call
   * won the race), else null. The engine reserves the name before the winner's container can be inspected, so
   * look a few times.
   */
  async function sameDeploymentByName(name: string, deploymentId: string): Promise<ContainerInfo | null> {
    for (let attempt = 0; attempt < nameRaceAttempts; attempt++) {
      const holder = await inspectOrNull(name);
      if (holder === 'not_managed') return null;
      if (holder !== null) return holder.deploymentId === deploymentId ? holder : null;
      await delay(nameRaceDelayMs);
    }
    return null;
  }

  async function startManaged(containerId: string): Promise<ContainerInfo> {
    const info = await inspectManaged(containerId);
    if (info.running) return info;
    try {
      await docker.getContainer(containerId).start();
    } catch (error) {
      // 304: started by someone else in the meantime, which is what we wanted.
      if (!hasEngineStatus(error, 304))
        throw toContainerError(error, 'container_start_failed', `starting ${info.name}`);
    }
    log.info({ containerId, deploymentId: info.deploymentId }, 'container started');
    return inspectManaged(containerId);
  }

  const containers: Containers = {
    ensureImage: (image, onProgress, signal) =>
      guard(`pulling ${image}`, signal, async () => {
        if (await imageExists(docker, image)) return { pulled: false };
        try {
          await pullImage(docker, image, onProgress, signal);
        } catch (error) {
          if (hasEngineStatus(error, 404)) throw toContainerError(error, 'image_not_found', `pulling ${image}`);
          if (error instanceof PullStreamError) {
            throw new ContainerError('image_pull_failed', `pulling ${image}: ${error.message}`, { cause: error });
          }
          throw toContainerError(error, 'image_pull_failed', `pulling ${image}`);
        }
        log.info({ image }, 'image pulled');
        return { pulled: true };
      }),

    createAndStart: (spec) =>
      guard(`deployment ${spec.deploymentId}`, undefined, async () => {
        const existing = await containers.findDeploymentContainer(spec.deploymentId);
        if (existing !== null) return startManaged(existing.id);
        const name = containerName(spec);
        let created: Dockerode.Container;
        try {
          created = await docker.createContainer(containerCreateOptions(spec, { network: options.network }));
        } catch (error) {
          if (hasEngineStatus(error, 409)) {
            const raced = await sameDeploymentByName(name, spec.deploymentId);
            if (raced !== null) return startManaged(raced.id);
          }
          // 404 also means a missing network; asking about the image tells the two apart without reading text.
          if (hasEngineStatus(error, 404) && !(await imageExists(docker, spec.image).catch(() => true))) {
            throw toContainerError(error, 'image_not_found', `creating ${name}`);
          }
          throw toContainerError(error, 'container_create_failed', `creating ${name}`);
        }
        log.info({ containerId: created.id, deploymentId: spec.deploymentId, name }, 'container created');
        return startManaged(created.id);
      }),

    findDeploymentContainer: (deploymentId) =>
      guard(`deployment ${deploymentId}`, undefined, async () => {
        const found = await list([`${berthLabels.deployment}=${deploymentId}`]);
        return found[0] ?? null;
      }),

    listResourceContainers: (resourceId) =>
      guard(`resource ${resourceId}`, undefined, () => list([`${berthLabels.resource}=${resourceId}`])),

    listManagedContainers: () => guard('listing containers', undefined, () => list([])),

    inspect: (containerId) =>
      guard(`container ${containerId}`, undefined, async () => {
        const found = await inspectOrNull(containerId);
        return found === 'not_managed' ? null : found;
      }),

    start: (containerId) => guard(`container ${containerId}`, undefined, () => startManaged(containerId)),

    stop: (containerId, graceSeconds) =>
      guard(`stopping ${containerId}`, undefined, async () => {
        const found = await inspectOrNull(containerId);
        if (found === null) return;
        if (found === 'not_managed') throw notManaged(containerId);
        try {
          await docker.getContainer(containerId).stop({ t: graceSeconds });
        } catch (error) {
          // 304: already stopped; 404: removed meanwhile. Both leave the container stopped, as asked.
          if (!hasEngineStatus(error, 304) && !hasEngineStatus(error, 404)) throw error;
        }
      }),

    remove: (containerId) =>
      guard(`removing ${containerId}`, undefined, async () => {
        const found = await inspectOrNull(containerId);
        if (found === null) return;
        if (found === 'not_managed') throw notManaged(containerId);
        try {
          await docker.getContainer(containerId).remove({ force: true });
        } catch (error) {
          // 404: gone already; 409: a removal is already in progress.
          if (!hasEngineStatus(error, 404) && !hasEngineStatus(error, 409)) throw error;
        }
        log.info({ containerId }, 'container removed');
      }),

    logs: (containerId, logOptions) =>
      guard(`logs of ${containerId}`, undefined, async () => {
        await inspectManaged(containerId);
        const body = await docker.getContainer(containerId).logs({
          follow: false,
          stdout: true,
          stderr: true,
          timestamps: true,
          ...(logOptions.tail === undefined ? {} : { tail: logOptions.tail }),
          ...(logOptions.since === undefined ? {} : { since: logOptions.since.getTime() / 1000 }),
        });
        return parseLogBuffer(body);
      }),

    followLogs: (containerId, followOptions, onLine) =>
      guard(`logs of ${containerId}`, undefined, async () => {
        await inspectManaged(containerId);
        await followLogLines(docker, containerId, followOptions, onLine);
      }),
  };
  return containers;
}

/**
 * Runs one engine call, turning whatever the engine threw into a {@link ContainerError}; an aborted call
 * rejects with the signal's reason instead.
 */
async function guard<T>(what: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof ContainerError) throw error;
    throw toContainerError(error, hasEngineStatus(error, 404) ? 'container_not_found' : 'engine_error', what);
  }
}

function notManaged(containerId: string): ContainerError {
  return new ContainerError('not_managed', `container ${containerId} is not managed by Berth (no ${managedFilter})`);
}

function toContainerError(error: unknown, code: ContainerErrorCode, what: string): ContainerError {
  const failure = engineFailure(error);
  if (failure.unavailable) {
    return new ContainerError('docker_unavailable', `${what}: the Docker engine is unreachable (${failure.reason})`, {
      cause: error,
    });
  }
  return new ContainerError(code, `${what}: ${failure.reason}`, { cause: error });
}

function toInfo(raw: Dockerode.ContainerInspectInfo, network: string): ContainerInfo {
  const labels = raw.Config.Labels ?? {};
  const state = raw.State;
  const ended = state.Status === 'exited' || state.Status === 'dead' || state.Status === 'restarting';
  return {
    id: raw.Id,
    name: raw.Name.replace(/^\//, ''),
    deploymentId: labels[berthLabels.deployment] ?? '',
    resourceId: labels[berthLabels.resource] ?? '',
    state: state.Status,
    running: state.Running,
    exitCode: ended ? state.ExitCode : null,
    hostPorts: hostPorts(raw.NetworkSettings.Ports),
    networkIp: raw.NetworkSettings.Networks?.[network]?.IPAddress || null,
    createdAt: new Date(raw.Created).toISOString(),
    startedAt: state.StartedAt && state.StartedAt !== neverStarted ? new Date(state.StartedAt).toISOString() : null,
    restartCount: raw.RestartCount,
  };
}

function hostPorts(ports: Dockerode.ContainerInspectInfo['NetworkSettings']['Ports'] | null): Record<number, number> {
  const result: Record<number, number> = {};
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, protocol] = key.split('/');
    const loopback = bindings?.find((binding) => binding.HostIp === '127.0.0.1') ?? bindings?.[0];
    if (protocol === 'tcp' && loopback?.HostPort) result[Number(port)] = Number(loopback.HostPort);
  }
  return result;
}
