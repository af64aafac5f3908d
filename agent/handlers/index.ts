import {
  type CommandKind,
  type CommandPayload,
  type CommandResultOf,
  checkCommandPayload,
  commandCatalogue,
  commandKind,
  commandKinds,
  isCommandKind,
} from '../../shared/command-catalogue.js';
import type { AgentErrorCode } from '../../shared/errors.js';
import type { HostFacts } from '../../shared/host-command.js';
import type { Capacity } from '../capacity/capacity.js';
import type { DockerEngine } from '../docker/engine.js';
import type { TerminalHost } from '../terminal/terminal-host.js';
import { applyDeployment, cancelDeployment, type DeploymentDeps } from './deployment.js';
import { handleDockerInfo } from './docker-info.js';
import { type EdgeDeps, handleEdgeBootstrap, handleEdgeInspect, handleEdgeSync } from './edge.js';
import { handleHostFacts } from './host-facts.js';
import { handleProxyCheck, type ProxyProbe } from './proxy-check.js';
import { controlRuntime, inspectRuntime } from './runtime.js';

/** What the handlers may use. Narrow on purpose: a handler gets only the collaborators it needs. */
export interface HandlerDeps {
  hostFacts: () => HostFacts;
  docker: Pick<DockerEngine, 'facts'>;
  /** Caddy's admin API on this server (`BERTH_CADDY_ADMIN_URL`). */
  proxyAdminUrl: string;
  proxyProbe?: ProxyProbe;
  /** Containers and traffic switch; absent in agents built without them (tests of the link). */
  deployments?: DeploymentDeps;
  /** Berth's host routes and TLS in Caddy; absent in agents built without them (the edge commands are unsupported). */
  edge?: EdgeDeps;
  /** Capacity inspection and pruning on the engine; absent with the container runtime. */
  capacity?: Capacity;
  /** Interactive terminal sessions; absent with the container runtime. */
  terminals?: TerminalHost;
}

/**
 * The outcome of one command. `result` is serialized as the CommandResult's `result_json`; `errorCode` is one of
 * the stable codes of `agentErrorCodes` in shared/errors.ts, which the control plane may switch on.
 */
export type CommandOutcome<T = unknown> =
  | { succeeded: true; result: T }
  | { succeeded: false; errorCode: AgentErrorCode; errorMessage: string };

/** The handler of each kind, typed by the catalogue: a kind without a handler fails to compile. */
type Handlers = {
  [K in CommandKind]: (payload: CommandPayload<K>, deps: HandlerDeps) => Promise<CommandOutcome<CommandResultOf<K>>>;
};

const ok = <T>(result: T): CommandOutcome<T> => ({ succeeded: true, result });

/** The container runtime of an agent that has one; the catalogue says which kinds need it. */
function containers(deps: HandlerDeps): DeploymentDeps {
  // Checked in runCommand before any handler that needs it runs.
  return deps.deployments as DeploymentDeps;
}

function capacity(deps: HandlerDeps): Capacity {
  if (deps.capacity === undefined) throw new Error('this agent has no capacity collaborator');
  return deps.capacity;
}

const handlers: Handlers = {
  [commandKind.hostFacts]: async (_payload, deps) => ok(handleHostFacts(deps)),
  [commandKind.dockerInfo]: async (_payload, deps) => ok(await handleDockerInfo(deps)),
  [commandKind.proxyCheck]: async (_payload, deps) => ok(await handleProxyCheck(deps.proxyAdminUrl, deps.proxyProbe)),
  [commandKind.deploymentApply]: (payload, deps) => applyDeployment(payload, containers(deps)),
  [commandKind.deploymentCancel]: (payload, deps) => cancelDeployment(payload, containers(deps)),
  [commandKind.runtimeControl]: (payload, deps) => controlRuntime(payload, containers(deps)),
  [commandKind.runtimeInspect]: (payload, deps) => inspectRuntime(payload, containers(deps)),
  [commandKind.edgeSync]: (payload, deps) => handleEdgeSync(payload, deps.edge),
  [commandKind.edgeBootstrap]: (_payload, deps) => handleEdgeBootstrap(deps.edge),
  [commandKind.edgeInspect]: (payload, deps) => handleEdgeInspect(payload, deps.edge),
  [commandKind.capacityInspect]: async (payload, deps) => ok(await capacity(deps).inspect(payload)),
  [commandKind.capacityPrune]: async (payload, deps) => ok(await capacity(deps).prune(payload)),
  [commandKind.terminalOpen]: (payload, deps) => {
    if (deps.terminals === undefined) throw new Error('this agent has no terminal collaborator');
    return deps.terminals.open(payload);
  },
};

function run<K extends CommandKind>(kind: K, payload: CommandPayload<K>, deps: HandlerDeps) {
  return (handlers[kind] as Handlers[K])(payload, deps);
}

/**
 * Runs one command of `kind` with its parsed JSON `payload`, checked against the kind's schema first. An unknown
 * kind (`unknown_command`) or a payload that does not match (`invalid_payload`, naming the field) is a failed
 * outcome, never an exception, so a newer control plane talking to an older agent gets a clear answer. A handler
 * that throws is the caller's to turn into `handler_failed`.
 */
export async function runCommand(kind: string, payload: unknown, deps: HandlerDeps): Promise<CommandOutcome> {
  if (!isCommandKind(kind)) {
    return {
      succeeded: false,
      errorCode: 'unknown_command',
      errorMessage: `this agent does not know the command kind "${kind}" (it knows ${commandKinds.join(', ')})`,
    };
  }
  const checked = checkCommandPayload(kind, payload);
  if (!checked.ok) {
    return {
      succeeded: false,
      errorCode: 'invalid_payload',
      errorMessage: `the ${kind} payload is invalid: ${checked.problem}`,
    };
  }
  if (commandCatalogue[kind].needsContainers && deps.deployments === undefined) {
    return { succeeded: false, errorCode: 'unsupported', errorMessage: 'this agent runs no containers' };
  }
  return run(kind, checked.value, deps);
}
