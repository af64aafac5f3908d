import type Dockerode from 'dockerode';
import { berthLabels, type ContainerSpec, containerName, healthCheckPort } from './spec.js';

/** How many times Docker restarts an `on-failure` container before giving up. */
export const onFailureMaxRetries = 5;

/** Options of {@link containerCreateOptions}. */
export interface CreateOptionsContext {
  /** The Docker network to join; the engine's default bridge when undefined. */
  network?: string;
}

/**
 * The `POST /containers/create` body for a deployment: Berth's labels, tini as PID 1, the app port (and a
 * separate health port) published on 127.0.0.1 with a host port the engine picks, env, limits, restart policy.
 */
export function containerCreateOptions(
  spec: ContainerSpec,
  context: CreateOptionsContext = {},
): Dockerode.ContainerCreateOptions {
  const ports = publishedPorts(spec);
  return {
    name: containerName(spec),
    Image: spec.image,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: {
      [berthLabels.managed]: 'true',
      [berthLabels.project]: spec.projectId,
      [berthLabels.environment]: spec.environmentId,
      [berthLabels.resource]: spec.resourceId,
      [berthLabels.deployment]: spec.deploymentId,
      [berthLabels.service]: spec.resourceSlug,
    },
    ...entrypointAndCmd(spec),
    ...(spec.workingDirectory === null ? {} : { WorkingDir: spec.workingDirectory }),
    ExposedPorts: Object.fromEntries(ports.map((port) => [`${port}/tcp`, {}])),
    // Multiplexed stdout/stderr (no TTY) is what lets logs keep the two streams apart.
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    HostConfig: {
      // Many app processes ignore SIGTERM as PID 1 (busybox httpd does), so every stop would wait for the grace
      // period and end in SIGKILL; tini forwards the signal and reaps zombies.
      Init: true,
      // HostPort '' lets the engine pick a free port; loopback only, because the proxy on this host is the only
      // way in from outside.
      PortBindings: Object.fromEntries(ports.map((port) => [`${port}/tcp`, [{ HostIp: '127.0.0.1', HostPort: '' }]])),
      ...(spec.cpuLimit === null ? {} : { NanoCpus: Math.round(spec.cpuLimit * 1e9) }),
      ...(spec.memoryLimitMb === null ? {} : { Memory: Math.round(spec.memoryLimitMb * 1024 * 1024) }),
      RestartPolicy: {
        Name: spec.restartPolicy,
        MaximumRetryCount: spec.restartPolicy === 'on-failure' ? onFailureMaxRetries : 0,
      },
      ...(context.network === undefined ? {} : { NetworkMode: context.network }),
    },
  };
}

/** The container ports to publish: the app's and, when it differs, the health check's. */
export function publishedPorts(spec: Pick<ContainerSpec, 'internalPort' | 'health'>): number[] {
  const ports = new Set<number>();
  if (spec.internalPort !== null) ports.add(spec.internalPort);
  const health = healthCheckPort(spec.health, spec.internalPort);
  if (health !== null) ports.add(health);
  return [...ports];
}

function entrypointAndCmd(spec: ContainerSpec): Pick<Dockerode.ContainerCreateOptions, 'Entrypoint' | 'Cmd'> {
  // An empty Entrypoint array (not an absent one) is what makes the engine drop the image's ENTRYPOINT.
  if (spec.startCommand !== null) return { Entrypoint: [], Cmd: ['/bin/sh', '-c', spec.startCommand] };
  return {
    ...(spec.command === null ? {} : { Entrypoint: spec.command }),
    ...(spec.arguments === null ? {} : { Cmd: spec.arguments }),
  };
}
