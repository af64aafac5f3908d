/**
 * The `deployment.apply` and `deployment.cancel` commands as they cross the wire (Command.payload_json), shared by
 * the control plane, which builds them, and the agent, which runs them.
 */

/** How the agent decides that a new container is ready for traffic. */
export interface HealthPolicySpec {
  enabled: boolean;
  type: 'http' | 'tcp';
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
  http: {
    method: 'GET' | 'HEAD' | 'POST' | 'OPTIONS';
    scheme: 'http' | 'https';
    host: string | null;
    port: number | null;
    path: string;
    expectedStatusCode: number;
    expectedResponseText: string | null;
  } | null;
  tcp: { port: number | null } | null;
}

/** Everything the agent needs to run one deployment's container. */
export interface RuntimeSpecPayload {
  deploymentId: string;
  resourceId: string;
  resourceSlug: string;
  environmentId: string;
  projectId: string;
  image: string;
  env: Record<string, string>;
  internalPort: number | null;
  command: string[] | null;
  arguments: string[] | null;
  startCommand: string | null;
  workingDirectory: string | null;
  cpuLimit: number | null;
  memoryLimitMb: number | null;
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
