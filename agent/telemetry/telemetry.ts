import { create, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { TelemetryBatchSchema } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import type { BatchSpool } from './batch-spool.js';
import type { ContainerReading, ContainerStats } from './container-stats.js';
import type { HostReading, HostSampler } from './host-sampler.js';
import type { TelemetryLink } from './telemetry-link.js';

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  host: HostSampler;
  containers: ContainerStats;
  spool: BatchSpool;
  link: TelemetryLink;
  log: Logger;
  /** How often a sample is taken and flushed (5 s). */
  intervalMs?: number;
}

/** The agent's sampling loop; see {@link createTelemetry}. */
export interface Telemetry {
  start(): void;
  stop(): Promise<void>;
  /** Changes the interval (the control plane's Welcome sets it); 0 keeps the current one. */
  setIntervalMs(ms: number): void;
  /** Takes one sample now and spools it (the timer does this every interval). */
  sampleOnce(): Promise<void>;
  counts(): { queued: number; dropped: number; followedContainers: number };
}

/**
 * Every interval: one host reading and the latest reading of each Berth container, written to the spool as one
 * batch and handed to the link. The spool, not the link, is the queue: while the link is down batches pile up
 * on disk (bounded) and go out in order once it is back, each with the time it was measured.
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  const { host, containers, spool, link, log } = options;
  let intervalMs = options.intervalMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failureLogged = false;

  async function sampleOnce(): Promise<void> {
    try {
      await containers.refresh().catch((error: unknown) => {
        if (!failureLogged) log.warn({ err: error }, 'telemetry: could not list containers');
      });
      const reading = await host.read();
      const followed = containers.take();
      await spool.append((seq) => encodeBatch(spool.spoolId, seq, reading, followed));
      link.wake();
      failureLogged = false;
    } catch (error) {
      if (!failureLogged) log.error({ err: error }, 'telemetry: sampling failed');
      failureLogged = true;
    }
  }

  function tick(): void {
    if (running !== undefined) return; // a slow sample: skip this tick rather than pile up
    running = sampleOnce().finally(() => {
      running = undefined;
    });
  }

  return {
    start() {
      if (timer !== undefined) return;
      tick();
      timer = setInterval(tick, intervalMs);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
      containers.close();
      link.close();
    },
    setIntervalMs(ms) {
      if (ms <= 0 || ms === intervalMs) return;
      intervalMs = ms;
      if (timer === undefined) return;
      clearInterval(timer);
      timer = setInterval(tick, intervalMs);
    },
    sampleOnce,
    counts: () => ({ ...spool.counts(), followedContainers: containers.followed() }),
  };
}

/** One batch, as protobuf bytes. */
export function encodeBatch(
  spoolId: string,
  seq: bigint,
  reading: HostReading,
  followed: ContainerReading[],
): Uint8Array {
  const u = (n: number) => BigInt(Math.max(0, Math.round(n)));
  const writable = reading.docker?.writableByContainer;
  const batch = create(TelemetryBatchSchema, {
    spoolId,
    batchSeq: seq,
    hosts: [
      {
        observedAt: timestampFromDate(reading.observedAt),
        logicalCores: reading.logicalCores,
        loadAverage1m: reading.loadAverage[0],
        loadAverage5m: reading.loadAverage[1],
        loadAverage15m: reading.loadAverage[2],
        cpuPercent: reading.cpuPercent,
        memoryTotalBytes: u(reading.memory.totalBytes),
        memoryUsedBytes: u(reading.memory.usedBytes),
        memoryAvailableBytes: u(reading.memory.availableBytes),
        disks: reading.disks.map((disk) => ({
          mount: disk.mount,
          filesystem: disk.filesystem,
          totalBytes: u(disk.totalBytes),
          usedBytes: u(disk.usedBytes),
          availableBytes: u(disk.availableBytes),
          inodesTotal: u(disk.inodesTotal),
          inodesUsed: u(disk.inodesUsed),
          inodesAvailable: u(disk.inodesAvailable),
        })),
        networkRxBytes: u(reading.network.rxBytes),
        networkTxBytes: u(reading.network.txBytes),
        dockerImageBytes: u(reading.docker?.imageBytes ?? 0),
        dockerBuildCacheBytes: u(reading.docker?.buildCacheBytes ?? 0),
        dockerWritableBytes: u(reading.docker?.writableBytes ?? 0),
        ...(reading.docker ? { dockerObservedAt: timestampFromDate(reading.docker.observedAt) } : {}),
        containerCpuPercent: followed.reduce((sum, c) => sum + c.cpuPercent, 0),
        containerMemoryBytes: u(followed.reduce((sum, c) => sum + c.memoryUsedBytes, 0)),
      },
    ],
    containers: followed.map((c) => ({
      observedAt: timestampFromDate(c.observedAt),
      containerId: c.containerId,
      projectId: c.projectId,
      environmentId: c.environmentId,
      resourceId: c.resourceId,
      deploymentId: c.deploymentId,
      cpuPercent: c.cpuPercent,
      memoryUsedBytes: u(c.memoryUsedBytes),
      memoryLimitBytes: u(c.memoryLimitBytes),
      networkRxBytes: u(c.rxBytes),
      networkTxBytes: u(c.txBytes),
      writableBytes: u(writable?.get(c.containerId) ?? 0),
    })),
  });
  return toBinary(TelemetryBatchSchema, batch);
}
