/**
 * The `deployment.apply` and `deployment.cancel` commands as they cross the wire (Command.payload_json), shared by
 * the control plane, which builds them, and the agent, which runs them.
 */

/**
 * How to tell that a freshly started container is ready for traffic. Checks run from the agent against the
 * container's port published on 127.0.0.1, never from inside the container, so images need no curl or shell.
 */
export interface HealthPolicySpec {
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
export interface RuntimeSpecPayload {
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
  health: HealthPolicySpec;
}

/** `deployment.apply`: run `spec`, verify it, move the resource's traffic to it, then stop the resource's older containers. */
export interface DeploymentApplyPayload {
  spec: RuntimeSpecPayload;
  /** The loopback port the resource is served on, when the resource asks for one (direct-port exposure). */
  preferredListenPort: number | null;
  /** Seconds the old container keeps running after traffic moved, so requests in flight finish. */
  drainSeconds: number;
  /** Seconds `docker stop` waits before killing the old container. */
  stopGraceSeconds: number;
}

/** What a successful `deployment.apply` answers. */
export interface DeploymentApplyResult {
  containerId: string;
  containerName: string;
  /** Where the resource answers now: `http://127.0.0.1:<listenPort>`. */
  accessUrl: string | null;
  listenPort: number | null;
  /** `caddy` when traffic moved through the edge proxy without dropping requests; `direct` when no proxy was available. */
  trafficSwitch: 'caddy' | 'direct' | 'none';
  /** Containers of earlier deployments of the resource that were stopped and removed. */
  replacedDeploymentIds: string[];
}

/** `deployment.cancel`: abort the named deployment if it is still running on the agent. */
export interface DeploymentCancelPayload {
  deploymentId: string;
}

/**
 * The agent's progress reports travel as Events of kind `deployment.progress` (attributes: deploymentId,
 * eventType, phase, status, summary, retriable) and `deployment.log` (deploymentId, phase, level, source, message,
 * at), so they are spooled like every event while the link is down.
 */
export const deploymentProgressEvent = 'deployment.progress';
export const deploymentLogEvent = 'deployment.log';
