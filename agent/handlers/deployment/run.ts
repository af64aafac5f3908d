import { eventKind } from '../../../shared/command-catalogue.js';
import type {
  ContainerSpec,
  DeploymentApplyPayload,
  DeploymentProgressAttributes,
} from '../../../shared/deployment-command.js';
import type { CommandOutcome } from '../index.js';
import type { DeploymentDeps } from './deps.js';

/** A chatty container must not fill the spool: beyond this, its output is summarised in one line. */
export const maxLogLinesPerDeployment = 500;

/** How a deployment's steps tell the control plane what they do. */
export interface DeploymentReport {
  /** A `deployment.progress` event; `eventType` is one of the names the control plane and its clients know. */
  progress(
    eventType: string,
    phase: string,
    summary: string,
    extra?: Pick<DeploymentProgressAttributes, 'containerName'>,
  ): void;
  /** A `deployment.log` line; past {@link maxLogLinesPerDeployment} lines one warning says the rest was left out. */
  log(phase: string, message: string, level?: string, source?: string, at?: string): void;
}

/** One deployment as its steps see it. */
export interface DeploymentRun {
  payload: DeploymentApplyPayload;
  spec: ContainerSpec;
  deps: DeploymentDeps;
  /** Fires when the deployment is canceled. */
  signal: AbortSignal;
  report: DeploymentReport;
}

/** A deployment that did not succeed, as the command answers it. */
export type DeploymentFailure = Extract<CommandOutcome, { succeeded: false }>;

/** The events of one deployment, through `emit`. */
export function deploymentReport(deploymentId: string, emit: DeploymentDeps['emit']): DeploymentReport {
  let logLines = 0;
  return {
    progress: (eventType, phase, summary, extra = {}) =>
      emit(eventKind.deploymentProgress, { deploymentId, eventType, phase, status: 'running', summary, ...extra }),
    log: (phase, message, level = 'info', source = 'berth', at = new Date().toISOString()) => {
      logLines += 1;
      if (logLines <= maxLogLinesPerDeployment) {
        emit(eventKind.deploymentLog, { deploymentId, phase, level, source, message, at });
      } else if (logLines === maxLogLinesPerDeployment + 1) {
        emit(eventKind.deploymentLog, {
          deploymentId,
          phase,
          level: 'warn',
          source: 'berth',
          message: `more than ${maxLogLinesPerDeployment} lines: the rest is in the container's own log`,
          at,
        });
      }
    },
  };
}
