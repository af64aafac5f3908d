import { type Static, type TSchema, Type } from 'typebox';
import Value from 'typebox/value';
import {
  CapacityInspectPayloadSchema,
  CapacityInspectResultSchema,
  CapacityPrunePayloadSchema,
  CapacityPruneResultSchema,
} from './capacity-command.js';
import {
  DeploymentApplyPayloadSchema,
  DeploymentApplyQueuedSchema,
  DeploymentApplyResultSchema,
  DeploymentCancelPayloadSchema,
  DeploymentCancelResultSchema,
  DeploymentLogAttributesSchema,
  DeploymentProgressAttributesSchema,
} from './deployment-command.js';
import {
  EdgeBootstrapPayloadSchema,
  EdgeBootstrapResultSchema,
  EdgeInspectPayloadSchema,
  EdgeInspectResultSchema,
  EdgeSyncPayloadSchema,
  EdgeSyncQueuedSchema,
  EdgeSyncResultSchema,
} from './edge-command.js';
import { DockerFactsSchema, HostFactsSchema, ProxyCheckResultSchema } from './host-command.js';
import {
  RuntimeControlPayloadSchema,
  RuntimeControlResultSchema,
  RuntimeDriftAttributesSchema,
  RuntimeInspectPayloadSchema,
  RuntimeInspectResultSchema,
} from './runtime-command.js';
import { TerminalOpenPayloadSchema, TerminalOpenResultSchema } from './terminal-command.js';

/**
 * The one catalogue of what the control plane asks of an agent (Commands) and what an agent reports (Events).
 * Each command kind has a payload schema (what goes on the wire), optionally a narrower `queued` schema (what is
 * stored while it waits: the payload is completed as it is sent), and a result schema. Types are derived from the
 * schemas, so the control plane's `enqueue`, the agent's dispatch and the checks at the agent's boundary cannot
 * drift apart. Kinds are written only here: everywhere else they are `commandKind.x` / `eventKind.x` (an
 * architecture test fails on a kind written as a string literal elsewhere).
 *
 * Payloads travel as JSON in `Command.payload_json` rather than as a proto message per kind: see docs/decisions.md.
 */

/** The command kinds, by the name code uses for them. */
export const commandKind = {
  hostFacts: 'host.facts',
  dockerInfo: 'docker.info',
  proxyCheck: 'proxy.check',
  deploymentApply: 'deployment.apply',
  deploymentCancel: 'deployment.cancel',
  runtimeControl: 'runtime.control',
  runtimeInspect: 'runtime.inspect',
  edgeSync: 'edge.sync',
  edgeBootstrap: 'edge.bootstrap',
  edgeInspect: 'edge.inspect',
  capacityInspect: 'capacity.inspect',
  capacityPrune: 'capacity.prune',
  terminalOpen: 'terminal.open',
} as const;

/** The event kinds an agent sends, by the name code uses for them. */
export const eventKind = {
  agentStarted: 'agent.started',
  dockerReachable: 'docker.reachable',
  dockerUnreachable: 'docker.unreachable',
  spoolDropped: 'spool.dropped',
  deploymentProgress: 'deployment.progress',
  deploymentLog: 'deployment.log',
  runtimeDrift: 'runtime.drift',
} as const;

/** A command that takes no payload: an empty object (extra fields are ignored). */
const NoPayload = Type.Object({});

interface CommandDefinition {
  payload: TSchema;
  queued?: TSchema;
  result: TSchema;
  /** Whether the agent needs a container runtime for it. */
  needsContainers: boolean;
  summary: string;
}

/** Every command kind: payload, stored payload, result. */
export const commandCatalogue = {
  [commandKind.hostFacts]: {
    payload: NoPayload,
    result: HostFactsSchema,
    needsContainers: false,
    summary: 'The host: name, OS, kernel, architecture, CPUs, memory.',
  },
  [commandKind.dockerInfo]: {
    payload: NoPayload,
    result: DockerFactsSchema,
    needsContainers: false,
    summary: 'Whether the Docker engine answers, and its version.',
  },
  [commandKind.proxyCheck]: {
    payload: NoPayload,
    result: ProxyCheckResultSchema,
    needsContainers: false,
    summary: "Whether the edge proxy's admin API answers.",
  },
  [commandKind.deploymentApply]: {
    payload: DeploymentApplyPayloadSchema,
    queued: DeploymentApplyQueuedSchema,
    result: DeploymentApplyResultSchema,
    needsContainers: true,
    summary: 'Run a deployment: image, container, health verification, traffic switch, clean-up.',
  },
  [commandKind.deploymentCancel]: {
    payload: DeploymentCancelPayloadSchema,
    result: DeploymentCancelResultSchema,
    needsContainers: true,
    summary: 'Abort a running deployment, or remove what one given up on left behind.',
  },
  [commandKind.runtimeControl]: {
    payload: RuntimeControlPayloadSchema,
    result: RuntimeControlResultSchema,
    needsContainers: true,
    summary: "Stop, start or restart a resource's current container.",
  },
  [commandKind.runtimeInspect]: {
    payload: RuntimeInspectPayloadSchema,
    result: RuntimeInspectResultSchema,
    needsContainers: true,
    summary: "The container's state and one probe of its health check.",
  },
  [commandKind.edgeSync]: {
    payload: EdgeSyncPayloadSchema,
    queued: EdgeSyncQueuedSchema,
    result: EdgeSyncResultSchema,
    needsContainers: false,
    summary: "Serve the server's edge document in Caddy: host routes, TLS, imported certificates.",
  },
  [commandKind.edgeBootstrap]: {
    payload: EdgeBootstrapPayloadSchema,
    result: EdgeBootstrapResultSchema,
    needsContainers: false,
    summary: 'Start Caddy from the host binary when none answers on the admin URL, or adopt the running one.',
  },
  [commandKind.edgeInspect]: {
    payload: EdgeInspectPayloadSchema,
    result: EdgeInspectResultSchema,
    needsContainers: false,
    summary: "What Caddy serves now: Berth's routes, their upstreams, and the certificate served per host.",
  },
  [commandKind.capacityInspect]: {
    payload: CapacityInspectPayloadSchema,
    result: CapacityInspectResultSchema,
    needsContainers: true,
    summary: "Disk, inodes, memory, CPU and Docker's disk use now, with what a prune would reclaim.",
  },
  [commandKind.capacityPrune]: {
    payload: CapacityPrunePayloadSchema,
    result: CapacityPruneResultSchema,
    needsContainers: true,
    summary: "List (dry run) or remove Berth's stopped containers and unused images; never volumes or foreign objects.",
  },
  [commandKind.terminalOpen]: {
    payload: TerminalOpenPayloadSchema,
    result: TerminalOpenResultSchema,
    needsContainers: true,
    summary: 'Start a shell for a terminal session and carry it on its own Terminal stream.',
  },
} as const satisfies Record<(typeof commandKind)[keyof typeof commandKind], CommandDefinition>;

const stringAttribute = Type.String();

/** Every event kind: its attributes (all strings on the wire). */
export const eventCatalogue = {
  [eventKind.agentStarted]: Type.Object({ version: stringAttribute }),
  [eventKind.dockerReachable]: Type.Object({ version: stringAttribute, apiVersion: stringAttribute }),
  [eventKind.dockerUnreachable]: Type.Object({ error: stringAttribute }),
  /** The agent's spool overflowed while the link was down: `count` events were dropped. */
  [eventKind.spoolDropped]: Type.Object({ count: stringAttribute }),
  [eventKind.deploymentProgress]: DeploymentProgressAttributesSchema,
  [eventKind.deploymentLog]: DeploymentLogAttributesSchema,
  [eventKind.runtimeDrift]: RuntimeDriftAttributesSchema,
} as const satisfies Record<(typeof eventKind)[keyof typeof eventKind], TSchema>;

/** One command kind. */
export type CommandKind = keyof typeof commandCatalogue;
/** One event kind. */
export type EventKind = keyof typeof eventCatalogue;
/** The payload of `K` as the agent receives it. */
export type CommandPayload<K extends CommandKind> = Static<(typeof commandCatalogue)[K]['payload']>;
/** The payload of `K` as it is queued (the wire payload unless the kind completes it as it is sent). */
export type QueuedPayload<K extends CommandKind> = (typeof commandCatalogue)[K] extends {
  queued: infer Q extends TSchema;
}
  ? Static<Q>
  : CommandPayload<K>;
/** What a successful `K` answers. */
export type CommandResultOf<K extends CommandKind> = Static<(typeof commandCatalogue)[K]['result']>;
/** The attributes of an event of kind `K`. */
export type EventAttributes<K extends EventKind> = Static<(typeof eventCatalogue)[K]>;

/** Every command kind, in catalogue order. */
export const commandKinds = Object.keys(commandCatalogue) as CommandKind[];

/** Whether `kind` is a command kind of this catalogue. */
export function isCommandKind(kind: string): kind is CommandKind {
  return Object.hasOwn(commandCatalogue, kind);
}

/** Whether `kind` is an event kind of this catalogue. */
export function isEventKind(kind: string): kind is EventKind {
  return Object.hasOwn(eventCatalogue, kind);
}

/** A value checked against a schema: the value with its type, or the first problem in words. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

function check<T>(schema: TSchema, value: unknown, what: string): Checked<T> {
  if (Value.Check(schema, value)) return { ok: true, value: value as T };
  // `additionalProperties` of a boolean schema reports twice; the first error with a path is the useful one.
  const errors = Value.Errors(schema, value).filter((e) => e.keyword !== 'boolean');
  const first = errors.find((e) => e.instancePath !== '') ?? errors[0];
  const field = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : what;
  return { ok: false, problem: `${field}: ${first?.message ?? 'does not match the schema'}` };
}

/** Checks a payload as the agent receives it (an absent payload is an empty object). */
export function checkCommandPayload<K extends CommandKind>(kind: K, payload: unknown): Checked<CommandPayload<K>> {
  return check(commandCatalogue[kind].payload, payload ?? {}, 'payload');
}

/** Checks what an agent answered for a command of `kind`. */
export function checkCommandResult<K extends CommandKind>(kind: K, result: unknown): Checked<CommandResultOf<K>> {
  return check(commandCatalogue[kind].result, result, 'result');
}

/** Checks an event's attributes against its kind. */
export function checkEventAttributes<K extends EventKind>(kind: K, attributes: unknown): Checked<EventAttributes<K>> {
  return check(eventCatalogue[kind], attributes, 'attributes');
}
