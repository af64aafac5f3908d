import type { DeploymentApplyPayload, DeploymentCancelPayload } from '../../shared/deployment-command.js';
import type { RuntimeControlPayload, RuntimeInspectPayload } from '../../shared/runtime-command.js';
import type { DockerEngine } from '../docker/engine.js';
import { applyDeployment, cancelDeployment, type DeploymentDeps } from './deployment.js';
import { handleDockerInfo } from './docker-info.js';
import { type HostFactsJson, handleHostFacts } from './host-facts.js';
import { handleProxyCheck, type ProxyProbe } from './proxy-check.js';
import { controlRuntime, inspectRuntime } from './runtime.js';

/** Every command kind this agent understands; anything else is answered `unknown_command`. */
export const commandKinds = [
  'host.facts',
  'docker.info',
  'proxy.check',
  'deployment.apply',
  'deployment.cancel',
  'runtime.control',
  'runtime.inspect',
] as const;

/** One of {@link commandKinds}. */
export type CommandKind = (typeof commandKinds)[number];

/** What the handlers may use. Narrow on purpose: a handler gets only the collaborators it needs. */
export interface HandlerDeps {
  hostFacts: () => HostFactsJson;
  docker: Pick<DockerEngine, 'facts'>;
  /** Caddy's admin API on this server (`BERTH_CADDY_ADMIN_URL`). */
  proxyAdminUrl: string;
  proxyProbe?: ProxyProbe;
  /** Container runtime and traffic switch; absent in agents built without them (tests of the link). */
  deployments?: DeploymentDeps;
}

/**
 * The outcome of one command. `result` is serialized as the CommandResult's `result_json`; `errorCode` is a
 * stable snake_case code the control plane may switch on.
 */
export type CommandOutcome =
  | { succeeded: true; result: unknown }
  | { succeeded: false; errorCode: string; errorMessage: string };

/** Whether `kind` names a command this agent can run. */
export function isCommandKind(kind: string): kind is CommandKind {
  return (commandKinds as readonly string[]).includes(kind);
}

/**
 * Runs one command of `kind` with its parsed JSON `payload` (none of today's kinds take one). An unknown kind is
 * a failed outcome with `unknown_command`, never an exception, so a newer control plane talking to an older
 * agent gets a clear answer. A handler that throws is the caller's to turn into a failure.
 */
export async function runCommand(kind: string, payload: unknown, deps: HandlerDeps): Promise<CommandOutcome> {
  if (!isCommandKind(kind)) {
    return {
      succeeded: false,
      errorCode: 'unknown_command',
      errorMessage: `this agent does not know the command kind "${kind}" (it knows ${commandKinds.join(', ')})`,
    };
  }
  switch (kind) {
    case 'host.facts':
      return { succeeded: true, result: handleHostFacts(deps) };
    case 'docker.info':
      return { succeeded: true, result: await handleDockerInfo(deps) };
    case 'proxy.check':
      return { succeeded: true, result: await handleProxyCheck(deps.proxyAdminUrl, deps.proxyProbe) };
    case 'runtime.control':
    case 'runtime.inspect': {
      if (deps.deployments === undefined) {
        return { succeeded: false, errorCode: 'unsupported', errorMessage: 'this agent runs no containers' };
      }
      if (typeof (payload as { deploymentId?: unknown } | undefined)?.deploymentId !== 'string')
        return invalidPayload(kind);
      return kind === 'runtime.control'
        ? controlRuntime(payload as RuntimeControlPayload, deps.deployments)
        : inspectRuntime(payload as RuntimeInspectPayload, deps.deployments);
    }
    case 'deployment.apply':
    case 'deployment.cancel': {
      if (deps.deployments === undefined) {
        return { succeeded: false, errorCode: 'unsupported', errorMessage: 'this agent runs no containers' };
      }
      const spec = (payload as { spec?: { deploymentId?: unknown } } | undefined)?.spec;
      const deploymentId = (payload as { deploymentId?: unknown } | undefined)?.deploymentId;
      if (kind === 'deployment.cancel') {
        if (typeof deploymentId !== 'string') return invalidPayload(kind);
        return cancelDeployment(payload as DeploymentCancelPayload, deps.deployments);
      }
      if (typeof spec?.deploymentId !== 'string') return invalidPayload(kind);
      return applyDeployment(payload as DeploymentApplyPayload, deps.deployments);
    }
    default: {
      // A kind added to commandKinds without a case fails to compile here.
      const unhandled: never = kind;
      throw new Error(`no handler for ${String(unhandled)}`);
    }
  }
}

function invalidPayload(kind: string): CommandOutcome {
  return {
    succeeded: false,
    errorCode: 'invalid_payload',
    errorMessage: `the ${kind} payload is missing its deployment id`,
  };
}
