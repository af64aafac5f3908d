import { type Static, Type } from 'typebox';
import { HealthPolicySpecSchema, nullable } from './deployment-command.js';

/**
 * The runtime commands (`runtime.control`, `runtime.inspect`), the desired-state document and the drift event, as
 * they cross the wire between the control plane and the agent. "Runtime" here is what the seed API means by it: a
 * resource's running app.
 */

const port = Type.Integer({ minimum: 1, maximum: 65535 });

/** Which running deployment of a resource a command is about, and how it is reached. */
const runtimeTargetFields = {
  resourceId: Type.String({ minLength: 1 }),
  deploymentId: Type.String({ minLength: 1 }),
  internalPort: nullable(port),
  preferredListenPort: nullable(port),
  /** The deployment's health policy: a container started again gets traffic only once it passes. */
  health: HealthPolicySpecSchema,
};
export const RuntimeTargetSchema = Type.Object(runtimeTargetFields);
export type RuntimeTarget = Static<typeof RuntimeTargetSchema>;

/** `runtime.control`: stop, start or restart a resource's current container. */
export const RuntimeControlPayloadSchema = Type.Object({
  ...runtimeTargetFields,
  operation: Type.Union([Type.Literal('stop'), Type.Literal('start'), Type.Literal('restart')]),
  stopGraceSeconds: Type.Number({ minimum: 0 }),
});
export type RuntimeControlPayload = Static<typeof RuntimeControlPayloadSchema>;

/** What `runtime.control` answers. */
export const RuntimeControlResultSchema = Type.Object({
  runtimeState: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
  containerName: Type.String(),
  accessUrl: nullable(Type.String()),
});
export type RuntimeControlResult = Static<typeof RuntimeControlResultSchema>;

/** `runtime.inspect`: the container's state and one probe of its health check, now. */
export const RuntimeInspectPayloadSchema = RuntimeTargetSchema;
export type RuntimeInspectPayload = RuntimeTarget;

/** What `runtime.inspect` answers. */
export const RuntimeInspectResultSchema = Type.Object({
  observedAt: Type.String(),
  container: nullable(
    Type.Object({
      name: Type.String(),
      state: Type.String(),
      running: Type.Boolean(),
      exitCode: nullable(Type.Integer()),
      startedAt: nullable(Type.String()),
      restartCount: Type.Integer({ minimum: 0 }),
    }),
  ),
  /** The loopback listener Caddy serves the resource on, read back from Caddy. */
  route: nullable(Type.Object({ listenPort: port, upstreamPort: port })),
  probe: nullable(Type.Object({ ok: Type.Boolean(), detail: Type.String(), durationMs: Type.Number({ minimum: 0 }) })),
});
export type RuntimeInspectResult = Static<typeof RuntimeInspectResultSchema>;

/** One runtime in a server's desired state: the deployment that should run for a resource, and whether it should. */
export const DesiredRuntimeSchema = Type.Object({
  ...runtimeTargetFields,
  state: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
});
export type DesiredRuntime = Static<typeof DesiredRuntimeSchema>;

/** A server's desired state (DesiredState.document_json). The agent converges Docker to it. */
export const DesiredStateDocumentSchema = Type.Object({ runtimes: Type.Array(DesiredRuntimeSchema) });
export type DesiredStateDocument = Static<typeof DesiredStateDocumentSchema>;

/** Attributes of a `runtime.drift` event: something the agent found different from the desired state. */
export const RuntimeDriftAttributesSchema = Type.Object({
  resourceId: Type.String(),
  deploymentId: Type.String(),
  /** `missing`, `stopped`, `running` or `leftover`. */
  drift: Type.String(),
  /** What the agent did about it: `reported`, `restarted`, `stopped`, `removed`. */
  action: Type.String(),
  message: Type.String(),
});
export type RuntimeDriftAttributes = Static<typeof RuntimeDriftAttributesSchema>;
