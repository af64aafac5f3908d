import nodePath from 'node:path';
import type Dockerode from 'dockerode';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { LinkTarget } from './connection/dial.js';
import { createLogFollower } from './logs/log-follower.js';
import { openBatchSpool } from './telemetry/batch-spool.js';
import { createContainerStats } from './telemetry/container-stats.js';
import { createHostSampler } from './telemetry/host-sampler.js';
import { createTelemetry } from './telemetry/telemetry.js';
import { createTelemetryLink } from './telemetry/telemetry-link.js';

/** What {@link openObservability} needs. */
export interface ObservabilityOptions {
  loadTarget: () => Promise<LinkTarget>;
  docker: Dockerode;
  stateDir: string;
  clock: Clock;
  log: Logger;
  /** The sample interval until the control plane's Welcome sets one (5 s). */
  telemetryMs?: number | undefined;
}

/**
 * The agent's two reporting jobs besides commands: monitoring samples and runtime logs. Each has its own on-disk
 * spool and its own `Telemetry` stream, so neither crowds the other out and neither rides on the command stream.
 * They collect all along; they send only while the control link is up.
 */
export async function openObservability(options: ObservabilityOptions) {
  const { loadTarget, docker, stateDir, clock, log } = options;
  const batches = await openBatchSpool({ dir: nodePath.join(stateDir, 'telemetry-spool') });
  const telemetryLink = createTelemetryLink({ loadTarget, spool: batches, log });
  const telemetry = createTelemetry({
    host: createHostSampler({ docker, clock, log }),
    containers: createContainerStats({ docker, log }),
    spool: batches,
    link: telemetryLink,
    log,
    intervalMs: options.telemetryMs,
  });
  const logBatches = await openBatchSpool({ dir: nodePath.join(stateDir, 'logs-spool'), limit: 2_000 });
  const logsLink = createTelemetryLink({ loadTarget, spool: logBatches, log });
  const logs = createLogFollower({ docker, spool: logBatches, wake: () => logsLink.wake(), stateDir, log });
  return {
    async start() {
      telemetry.start();
      await logs.start();
    },
    /** The control link is up: send, at the interval the control plane asked for. */
    linkUp(telemetryIntervalMs: number) {
      telemetry.setIntervalMs(telemetryIntervalMs);
      telemetryLink.open();
      logsLink.open();
    },
    linkDown() {
      telemetryLink.close();
      logsLink.close();
    },
    async stop() {
      await telemetry.stop();
      await logs.stop();
      logsLink.close();
    },
  };
}
export type Observability = Awaited<ReturnType<typeof openObservability>>;
