import type { HealthPolicySpec } from './deployment-command.js';

/**
 * The runtime commands (`runtime.control`, `runtime.inspect`) and the desired-state document, as they cross the
 * wire between the control plane and the agent.
 */

/** Which running deployment of a resource a command is about, and how it is reached. */
export interface RuntimeTarget {
  resourceId: string;
  deploymentId: string;
  internalPort: number | null;
  preferredListenPort: number | null;
  /** The deployment's health policy: a container started again gets traffic only once it passes. */
  health: HealthPolicySpec;
}

/** `runtime.control`: stop, start or restart a resource's current container. */
export interface RuntimeControlPayload extends RuntimeTarget {
  operation: 'stop' | 'start' | 'restart';
  stopGraceSeconds: number;
}

/** What `runtime.control` answers. */
export interface RuntimeControlResult {
  runtimeState: 'running' | 'stopped';
  containerName: string;
  accessUrl: string | null;
}

/** `runtime.inspect`: the container's state and one probe of its health check, now. */
export type RuntimeInspectPayload = RuntimeTarget;

/** What `runtime.inspect` answers. */
export interface RuntimeInspectResult {
  observedAt: string;
  container: {
    name: string;
    state: string;
    running: boolean;
    exitCode: number | null;
    startedAt: string | null;
    restartCount: number;
  } | null;
  /** The loopback listener Caddy serves the resource on, read back from Caddy. */
  route: { listenPort: number; upstreamPort: number } | null;
  probe: { ok: boolean; detail: string; durationMs: number } | null;
}

/** One runtime in a server's desired state: the deployment that should run for a resource, and whether it should. */
export interface DesiredRuntime extends RuntimeTarget {
  state: 'running' | 'stopped';
}

/** A server's desired state (DesiredState.document_json). The agent converges Docker to it. */
export interface DesiredStateDocument {
  runtimes: DesiredRuntime[];
}

/** The agent reports what it found different from the desired state as Events of this kind. */
export const runtimeDriftEvent = 'runtime.drift';
