import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '../../shared/logger.js';
import { berthLabels } from '../workloads/spec.js';

/** The latest reading of one Berth container, attributed by its labels. */
export interface ContainerReading {
  containerId: string;
  projectId: string;
  environmentId: string;
  resourceId: string;
  deploymentId: string;
  observedAt: Date;
  /** 100 = one core. */
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  /** Bytes since the previous {@link ContainerStats.take}. */
  rxBytes: number;
  txBytes: number;
}

/** Options of {@link createContainerStats}. */
export interface ContainerStatsOptions {
  docker: Pick<Dockerode, 'listContainers' | 'getContainer'>;
  log: Logger;
}

/** Per-container CPU and memory from Docker's stats streams; see {@link createContainerStats}. */
export interface ContainerStats {
  /** Opens a stream for every running Berth container without one, and closes those of containers gone. */
  refresh(): Promise<void>;
  /** The latest reading of every followed container that has sent one; network counts restart from here. */
  take(): ContainerReading[];
  /** How many streams are open. */
  followed(): number;
  close(): void;
}

interface Followed {
  labels: Record<string, string>;
  stream: Readable | undefined;
  latest: Omit<ContainerReading, 'rxBytes' | 'txBytes'> | undefined;
  /** Cumulative network counters of the latest reading and of the previous take. */
  rx: number;
  tx: number;
  takenRx: number | undefined;
  takenTx: number | undefined;
}

/**
 * Keeps one `docker stats` stream open per running Berth container (`berth.managed=true`; nothing else is ever
 * followed). Docker sends a reading per second with the previous one's CPU counters, so CPU percent needs no
 * polling; the 2 s one-shot call (STACK.md §6) is never used. Memory excludes the page cache the kernel can
 * drop (`inactive_file`), as `docker stats` shows it.
 */
export function createContainerStats(options: ContainerStatsOptions): ContainerStats {
  const { docker, log } = options;
  const followed = new Map<string, Followed>();

  function follow(id: string, labels: Record<string, string>): void {
    const entry: Followed = {
      labels,
      stream: undefined,
      latest: undefined,
      rx: 0,
      tx: 0,
      takenRx: undefined,
      takenTx: undefined,
    };
    followed.set(id, entry);
    docker
      .getContainer(id)
      .stats({ stream: true })
      .then((raw) => {
        const stream = raw as unknown as Readable;
        if (followed.get(id) !== entry) {
          stream.destroy();
          return;
        }
        entry.stream = stream;
        let buffered = '';
        stream.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          let newline = buffered.indexOf('\n');
          while (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) read(id, entry, line);
            newline = buffered.indexOf('\n');
          }
        });
        stream.on('error', () => undefined);
        stream.on('close', () => {
          if (followed.get(id) === entry) followed.delete(id);
        });
      })
      .catch((error: unknown) => {
        log.debug({ err: error, containerId: id }, 'could not open a stats stream');
        if (followed.get(id) === entry) followed.delete(id);
      });
  }

  function read(id: string, entry: Followed, line: string): void {
    let stats: DockerStats;
    try {
      stats = JSON.parse(line) as DockerStats;
    } catch {
      return;
    }
    const cpu = stats.cpu_stats;
    const pre = stats.precpu_stats;
    // The first reading of a stream has no previous counters: its CPU figure would be the average since start.
    if (!pre?.system_cpu_usage) return;
    const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
    const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
    const cores = cpu?.online_cpus ?? cpu?.cpu_usage?.percpu_usage?.length ?? 1;
    const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cores * 100 : 0;
    const memory = stats.memory_stats ?? {};
    const cache = memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0;
    let rx = 0;
    let tx = 0;
    for (const network of Object.values(stats.networks ?? {})) {
      rx += network.rx_bytes ?? 0;
      tx += network.tx_bytes ?? 0;
    }
    entry.rx = rx;
    entry.tx = tx;
    entry.latest = {
      containerId: id,
      projectId: entry.labels[berthLabels.project] ?? '',
      environmentId: entry.labels[berthLabels.environment] ?? '',
      resourceId: entry.labels[berthLabels.resource] ?? '',
      deploymentId: entry.labels[berthLabels.deployment] ?? '',
      observedAt: stats.read ? new Date(stats.read) : new Date(),
      cpuPercent,
      memoryUsedBytes: Math.max(0, (memory.usage ?? 0) - cache),
      memoryLimitBytes: memory.limit ?? 0,
    };
  }

  function stop(id: string): void {
    const entry = followed.get(id);
    followed.delete(id);
    entry?.stream?.destroy();
  }

  return {
    async refresh() {
      const running = await docker.listContainers({
        filters: { label: [`${berthLabels.managed}=true`], status: ['running'] },
      });
      const ids = new Set(running.map((c) => c.Id));
      for (const id of [...followed.keys()]) if (!ids.has(id)) stop(id);
      for (const container of running) {
        if (!followed.has(container.Id)) follow(container.Id, container.Labels ?? {});
      }
    },
    take() {
      const readings: ContainerReading[] = [];
      for (const entry of followed.values()) {
        if (entry.latest === undefined) continue;
        const delta = (now: number, before: number | undefined) =>
          before === undefined ? 0 : now >= before ? now - before : now;
        readings.push({
          ...entry.latest,
          rxBytes: delta(entry.rx, entry.takenRx),
          txBytes: delta(entry.tx, entry.takenTx),
        });
        entry.takenRx = entry.rx;
        entry.takenTx = entry.tx;
      }
      return readings;
    },
    followed: () => followed.size,
    close() {
      for (const id of [...followed.keys()]) stop(id);
    },
  };
}

interface DockerStats {
  read?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}
