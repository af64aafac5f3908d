/**
 * How to tell that a freshly started container is ready for traffic. Checks run from the agent against the
 * container's port published on 127.0.0.1, never from inside the container, so images need no curl or shell.
 */
export interface HealthPolicy {
  /** When false, a container still running 1 s after start counts as healthy. */
  enabled: boolean;
  type: 'http' | 'tcp';
  /** Pause between two checks; the first check runs as soon as the start period is over. */
  intervalSeconds: number;
  /** How long one check may take before it counts as failed. */
  timeoutSeconds: number;
  /** Consecutive failed checks that make the container unhealthy (at least 1). */
  retries: number;
  /** Grace time before the first check; a container that exits during it still fails at once. */
  startPeriodSeconds: number;
  http: {
    method: 'GET' | 'HEAD' | 'POST' | 'OPTIONS';
    scheme: 'http' | 'https';
    /** Sent as the Host header (and TLS server name) when given. */
    host: string | null;
    /** Container port to check; the deployment's internal port when null. */
    port: number | null;
    path: string;
    expectedStatusCode: number;
    /** When given, the response body must contain it. */
    expectedResponseText: string | null;
  } | null;
  tcp: {
    /** Container port to check; the deployment's internal port when null. */
    port: number | null;
  } | null;
}

/** Everything the agent needs to run one deployment's container. */
export interface RuntimeSpec {
  deploymentId: string;
  resourceId: string;
  /** Part of the container's name, so `docker ps` reads well; characters Docker rejects become `-`. */
  resourceSlug: string;
  environmentId: string;
  projectId: string;
  /** An image reference, e.g. `busybox:1.36` or `ghcr.io/a/b@sha256:…`. */
  image: string;
  env: Record<string, string>;
  /** The port the app listens on inside the container; published on 127.0.0.1 with a random host port. */
  internalPort: number | null;
  /** Replaces the image's ENTRYPOINT (the image's CMD is then dropped too, as `docker run --entrypoint` does). */
  command: string[] | null;
  /** Replaces the image's CMD. */
  arguments: string[] | null;
  /** Run through `/bin/sh -c` with the image's ENTRYPOINT cleared; wins over `command` and `arguments`. */
  startCommand: string | null;
  workingDirectory: string | null;
  /** CPU cores, fractions allowed (0.5 = half a core). */
  cpuLimit: number | null;
  memoryLimitMb: number | null;
  /** `on-failure` gives up after 5 restarts. */
  restartPolicy: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  health: HealthPolicy;
}

/**
 * Labels Berth puts on every container it creates. `berth.managed=true` is what makes a container Berth's:
 * the runtime never lists, stops or removes a container without it.
 */
export const berthLabels = {
  managed: 'berth.managed',
  project: 'berth.project',
  environment: 'berth.environment',
  resource: 'berth.resource',
  deployment: 'berth.deployment',
  service: 'berth.service',
} as const;

/** `berth-<resourceSlug>-<last 8 characters of the deployment id>`, with characters Docker rejects replaced. */
export function containerName(spec: Pick<RuntimeSpec, 'resourceSlug' | 'deploymentId'>): string {
  const clean = (text: string) => text.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return `berth-${clean(spec.resourceSlug)}-${clean(spec.deploymentId.slice(-8))}`;
}

/** The container port the health check talks to, or null when neither the check nor the spec names one. */
export function healthCheckPort(health: HealthPolicy, internalPort: number | null): number | null {
  const own = health.type === 'http' ? health.http?.port : health.tcp?.port;
  return own ?? internalPort;
}
