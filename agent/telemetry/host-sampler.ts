import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type Dockerode from 'dockerode';
import si from 'systeminformation';
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';

/** One mounted file system, as a host sample reports it. */
export interface DiskReading {
  mount: string;
  filesystem: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  inodesTotal: number;
  inodesUsed: number;
  inodesAvailable: number;
}

/** Docker's disk use, measured less often than the rest (see {@link createHostSampler}). */
export interface DockerDiskReading {
  observedAt: Date;
  imageBytes: number;
  buildCacheBytes: number;
  writableBytes: number;
  /** Writable-layer bytes per container id, for attribution. */
  writableByContainer: Map<string, number>;
}

/** What the host looked like at `observedAt`. */
export interface HostReading {
  observedAt: Date;
  logicalCores: number;
  loadAverage: [number, number, number];
  cpuPercent: number;
  memory: { totalBytes: number; usedBytes: number; availableBytes: number };
  disks: DiskReading[];
  /** Bytes moved by the host's own interfaces since the previous reading. */
  network: { rxBytes: number; txBytes: number };
  docker: DockerDiskReading | null;
}

/** Options of {@link createHostSampler}. */
export interface HostSamplerOptions {
  docker: Pick<Dockerode, 'df'>;
  clock: Clock;
  log: Logger;
  /** How often Docker's disk use is measured again (60 s): `docker system df` walks every layer. */
  dockerDiskEveryMs?: number;
}

/** Reads the host; see {@link createHostSampler}. */
export interface HostSampler {
  read(): Promise<HostReading>;
}

// Pseudo and container file systems: their sizes are not the host's disks (or are counted already).
const ignoredFsTypes = new Set(['overlay', 'tmpfs', 'devtmpfs', 'squashfs', 'proc', 'sysfs', 'cgroup', 'cgroup2']);
// Container-side and bridge interfaces repeat traffic the host's own interfaces (or the containers) count.
const ignoredInterface = /^(lo|veth|br-|docker\d)/;

/** The host's real file systems (pseudo and container ones left out), with their inode counts. */
export async function readDisks(): Promise<DiskReading[]> {
  const sizes = await si.fsSize();
  const seen = new Set<string>();
  const disks: DiskReading[] = [];
  for (const fs of sizes) {
    if (ignoredFsTypes.has(fs.type) || fs.size <= 0 || seen.has(fs.fs)) continue;
    seen.add(fs.fs);
    const inodes = await statfs(fs.mount).catch(() => undefined);
    const inodesTotal = inodes ? Number(inodes.files) : 0;
    const inodesAvailable = inodes ? Number(inodes.ffree) : 0;
    disks.push({
      mount: fs.mount,
      filesystem: fs.fs,
      totalBytes: fs.size,
      usedBytes: fs.used,
      availableBytes: fs.available,
      inodesTotal,
      inodesUsed: inodesTotal - inodesAvailable,
      inodesAvailable,
    });
  }
  return disks;
}

/**
 * Reads the host with the cheap calls STACK.md §7 measured (load, memory, `df`, interface counters; about 40 ms
 * in all) and Docker's disk use at most once a minute. Network figures are deltas of the interfaces' byte
 * counters, so they add up over a rollup bucket; the first reading reports 0.
 */
export function createHostSampler(options: HostSamplerOptions): HostSampler {
  const { clock, log } = options;
  const dockerDiskEveryMs = options.dockerDiskEveryMs ?? 60_000;
  let lastCounters: Map<string, { rx: number; tx: number }> | undefined;
  let dockerDisk: DockerDiskReading | null = null;
  let dockerDiskPending: Promise<void> | undefined;
  let dockerFailureLogged = false;

  async function measureDockerDisk(): Promise<void> {
    try {
      const df = (await options.docker.df()) as DockerDf;
      const writableByContainer = new Map<string, number>();
      for (const container of df.Containers ?? []) writableByContainer.set(container.Id, container.SizeRw ?? 0);
      dockerDisk = {
        observedAt: clock(),
        imageBytes: df.LayersSize ?? 0,
        buildCacheBytes: (df.BuildCache ?? []).reduce((sum, entry) => sum + (entry.Size ?? 0), 0),
        writableBytes: [...writableByContainer.values()].reduce((sum, bytes) => sum + bytes, 0),
        writableByContainer,
      };
      dockerFailureLogged = false;
    } catch (error) {
      if (!dockerFailureLogged) log.warn({ err: error }, "could not measure Docker's disk use");
      dockerFailureLogged = true;
    }
  }

  async function readNetwork(): Promise<{ rxBytes: number; txBytes: number }> {
    const stats = await si.networkStats('*');
    const counters = new Map<string, { rx: number; tx: number }>();
    for (const iface of stats) {
      if (!ignoredInterface.test(iface.iface)) counters.set(iface.iface, { rx: iface.rx_bytes, tx: iface.tx_bytes });
    }
    let rxBytes = 0;
    let txBytes = 0;
    if (lastCounters !== undefined) {
      for (const [name, now] of counters) {
        const before = lastCounters.get(name);
        // A counter that went down was reset (interface re-created): count from zero.
        if (before === undefined) continue;
        rxBytes += now.rx >= before.rx ? now.rx - before.rx : now.rx;
        txBytes += now.tx >= before.tx ? now.tx - before.tx : now.tx;
      }
    }
    lastCounters = counters;
    return { rxBytes, txBytes };
  }

  return {
    async read() {
      const due = dockerDisk === null || clock().getTime() - dockerDisk.observedAt.getTime() >= dockerDiskEveryMs;
      if (due && dockerDiskPending === undefined) {
        // Not awaited past the first time: a slow `df` must not delay the sample.
        dockerDiskPending = measureDockerDisk().finally(() => {
          dockerDiskPending = undefined;
        });
        if (dockerDisk === null) await dockerDiskPending;
      }
      const [load, mem, disks, network] = await Promise.all([si.currentLoad(), si.mem(), readDisks(), readNetwork()]);
      const [one, five, fifteen] = os.loadavg() as [number, number, number];
      return {
        observedAt: clock(),
        logicalCores: os.availableParallelism(),
        loadAverage: [one, five, fifteen],
        cpuPercent: Number.isFinite(load.currentLoad) ? load.currentLoad : 0,
        memory: { totalBytes: mem.total, usedBytes: mem.total - mem.available, availableBytes: mem.available },
        disks,
        network,
        docker: dockerDisk,
      };
    },
  };
}

interface DockerDf {
  LayersSize?: number;
  Containers?: Array<{ Id: string; SizeRw?: number }>;
  BuildCache?: Array<{ Size?: number }>;
}
