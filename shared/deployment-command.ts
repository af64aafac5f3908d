import { type Static, type TSchema, Type } from 'typebox';

/**
 * The `deployment.apply` and `deployment.cancel` commands as they cross the wire (Command.payload_json), shared by
 * the control plane, which builds them, and the agent, which validates and runs them. The schemas are the source:
 * the types below are derived from them, and the command catalogue (shared/command-catalogue.ts) checks payloads
 * against them on the agent's side of the link.
 */

/** `T` or JSON null. */
export const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const port = Type.Integer({ minimum: 1, maximum: 65535 });
const nonNegative = Type.Number({ minimum: 0 });

const HttpCheck = Type.Object({
  method: Type.Union([Type.Literal('GET'), Type.Literal('HEAD'), Type.Literal('POST'), Type.Literal('OPTIONS')]),
  scheme: Type.Union([Type.Literal('http'), Type.Literal('https')]),
  /** Sent as the Host header (and TLS server name) when given. */
  host: nullable(Type.String()),
  /** Container port to check; the deployment's internal port when null. */
  port: nullable(port),
  path: Type.String(),
  expectedStatusCode: Type.Integer({ minimum: 100, maximum: 599 }),
  /** When given, the response body must contain it. */
  expectedResponseText: nullable(Type.String()),
});

/**
 * How to tell that a freshly started container is ready for traffic. Checks run from the agent against the
 * container's port published on 127.0.0.1, never from inside the container, so images need no curl or shell.
 */
export const HealthPolicySpecSchema = Type.Object({
  /** When false, a container still running 1 s after start counts as healthy. */
  enabled: Type.Boolean(),
  type: Type.Union([Type.Literal('http'), Type.Literal('tcp')]),
  /** Pause between two checks; the first check runs as soon as the start period is over. */
  intervalSeconds: nonNegative,
  /** How long one check may take before it counts as failed. */
  timeoutSeconds: nonNegative,
  /** Consecutive failed checks that make the container unhealthy (at least 1). */
  retries: Type.Integer({ minimum: 1 }),
  /** Grace time before the first check; a container that exits during it still fails at once. */
  startPeriodSeconds: nonNegative,
  http: nullable(HttpCheck),
  /** Container port to check; the deployment's internal port when null. */
  tcp: nullable(Type.Object({ port: nullable(port) })),
});
export type HealthPolicySpec = Static<typeof HealthPolicySpecSchema>;

/** Everything the agent needs to run one deployment's container. */
export const ContainerSpecSchema = Type.Object({
  deploymentId: Type.String({ minLength: 1 }),
  resourceId: Type.String({ minLength: 1 }),
  /** Part of the container's name, so `docker ps` reads well; characters Docker rejects become `-`. */
  resourceSlug: Type.String(),
  environmentId: Type.String(),
  projectId: Type.String(),
  /** An image reference, e.g. `busybox:1.36` or `ghcr.io/a/b@sha256:…`. */
  image: Type.String({ minLength: 1 }),
  env: Type.Record(Type.String(), Type.String()),
  /** The port the app listens on inside the container; published on 127.0.0.1 with a random host port. */
  internalPort: nullable(port),
  /** Replaces the image's ENTRYPOINT (the image's CMD is then dropped too, as `docker run --entrypoint` does). */
  command: nullable(Type.Array(Type.String())),
  /** Replaces the image's CMD. */
  arguments: nullable(Type.Array(Type.String())),
  /** Run through `/bin/sh -c` with the image's ENTRYPOINT cleared; wins over `command` and `arguments`. */
  startCommand: nullable(Type.String()),
  workingDirectory: nullable(Type.String()),
  /** CPU cores, fractions allowed (0.5 = half a core). */
  cpuLimit: nullable(Type.Number({ exclusiveMinimum: 0 })),
  memoryLimitMb: nullable(Type.Number({ exclusiveMinimum: 0 })),
  /** `on-failure` gives up after 5 restarts. */
  restartPolicy: Type.Union([
    Type.Literal('no'),
    Type.Literal('always'),
    Type.Literal('unless-stopped'),
    Type.Literal('on-failure'),
  ]),
  health: HealthPolicySpecSchema,
});
export type ContainerSpec = Static<typeof ContainerSpecSchema>;

/**
 * `deployment.apply` as it is queued: the deployment and the switch timings. The container spec (with the opened
 * environment) is filled in from the deployment's snapshot only as the command goes on the wire, so the stored
 * command never holds a secret.
 */
export const DeploymentApplyQueuedSchema = Type.Object({
  deploymentId: Type.String({ minLength: 1 }),
  drainSeconds: nonNegative,
  stopGraceSeconds: nonNegative,
});
export type DeploymentApplyQueued = Static<typeof DeploymentApplyQueuedSchema>;

/** `deployment.apply`: run `spec`, verify it, move the resource's traffic to it, then stop the resource's older containers. */
export const DeploymentApplyPayloadSchema = Type.Object({
  spec: ContainerSpecSchema,
  /** The loopback port the resource is served on, when the resource asks for one (direct-port exposure). */
  preferredListenPort: nullable(port),
  /** Seconds the old container keeps running after traffic moved, so requests in flight finish. */
  drainSeconds: nonNegative,
  /** Seconds `docker stop` waits before killing the old container. */
  stopGraceSeconds: nonNegative,
});
export type DeploymentApplyPayload = Static<typeof DeploymentApplyPayloadSchema>;

/** What a successful `deployment.apply` answers. */
export const DeploymentApplyResultSchema = Type.Object({
  containerId: Type.String(),
  containerName: Type.String(),
  /** Where the resource answers now: `http://127.0.0.1:<listenPort>`. */
  accessUrl: nullable(Type.String()),
  listenPort: nullable(port),
  /** `caddy` when traffic moved through the edge proxy without dropping requests; `direct` when no proxy was available. */
  trafficSwitch: Type.Union([Type.Literal('caddy'), Type.Literal('direct'), Type.Literal('none')]),
  /** Containers of earlier deployments of the resource that were stopped and removed. */
  replacedDeploymentIds: Type.Array(Type.String()),
});
export type DeploymentApplyResult = Static<typeof DeploymentApplyResultSchema>;

/** `deployment.cancel`: abort the named deployment if it is still running on the agent. */
export const DeploymentCancelPayloadSchema = Type.Object({ deploymentId: Type.String({ minLength: 1 }) });
export type DeploymentCancelPayload = Static<typeof DeploymentCancelPayloadSchema>;

/** What `deployment.cancel` answers. */
export const DeploymentCancelResultSchema = Type.Object({
  deploymentId: Type.String(),
  /** Whether the deployment was still running here (and was aborted). */
  wasRunning: Type.Boolean(),
  /** Whether a container it left behind was removed. */
  removedContainer: Type.Boolean(),
});
export type DeploymentCancelResult = Static<typeof DeploymentCancelResultSchema>;

/** Attributes of a `deployment.progress` event: one step of a deployment on the agent. */
export const DeploymentProgressAttributesSchema = Type.Object({
  deploymentId: Type.String(),
  /** `deployment-started`, `image-ready`, `container-started`, `health-check-attempt`, `traffic-switched`, … */
  eventType: Type.String(),
  /** `runtime` when absent. */
  phase: Type.Optional(Type.String()),
  /** The deployment's own status when absent. */
  status: Type.Optional(Type.String()),
  summary: Type.String(),
  containerName: Type.Optional(Type.String()),
  retriable: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
});
export type DeploymentProgressAttributes = Static<typeof DeploymentProgressAttributesSchema>;

/** Attributes of a `deployment.log` event: one line of a deployment's log (the container's output or Berth's own). */
export const DeploymentLogAttributesSchema = Type.Object({
  deploymentId: Type.String(),
  message: Type.String(),
  /** `verify` when absent. */
  phase: Type.Optional(Type.String()),
  /** `info` when absent. */
  level: Type.Optional(Type.String()),
  /** `berth` or `application` (the default). */
  source: Type.Optional(Type.String()),
  /** When the line was written (ISO 8601); the event's own time when absent. */
  at: Type.Optional(Type.String()),
});
export type DeploymentLogAttributes = Static<typeof DeploymentLogAttributesSchema>;
