/** The signal groups of a sample's totals (seed `signals`). */
export const signals = ['cpu', 'memory', 'disk', 'inode', 'docker', 'network'] as const;
export type Signal = (typeof signals)[number];

type N = number | null;

/**
 * A sample's or a bucket's figures, grouped by signal. A figure the scope does not measure is null: a container
 * has no load average, and a host sample does not split memory by resource.
 */
export interface Totals {
  cpu?: {
    logicalCores: N;
    loadAverage1m: N;
    loadAverage5m: N;
    loadAverage15m: N;
    /** Berth's containers (100 = one core). */
    containerCpuPercent: N;
    /** The whole host's CPU, 0-100 (host samples only). */
    usagePercent: N;
  };
  memory?: { totalBytes: N; usedBytes: N; availableBytes: N; containerUsedBytes: N };
  disk?: { totalBytes: N; usedBytes: N; availableBytes: N; attributedBytes: N };
  inode?: { total: N; used: N; available: N };
  docker?: { imageBytes: N; buildCacheBytes: N; containerWritableBytes: N };
  /** Bytes moved during the sample's interval (or summed over a bucket). */
  network?: { rxBytes: N; txBytes: N };
}

/** The figures of one row of `monitoring_samples` or of an aggregate with the same column names. */
export type FigureRow = Record<string, unknown>;

const num = (value: unknown): N => {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
};
const int = (value: unknown): N => {
  const n = num(value);
  return n === null ? null : Math.round(n);
};
const ratio = (value: unknown): N => {
  const n = num(value);
  return n === null ? null : Math.round(n * 1000) / 1000;
};

/** The totals of `row`, with only the `wanted` signal groups. */
export function totalsOf(row: FigureRow, wanted: readonly Signal[]): Totals {
  const all: Required<Totals> = {
    cpu: {
      logicalCores: int(row['logical_cores']),
      loadAverage1m: ratio(row['load_average1m']),
      loadAverage5m: ratio(row['load_average5m']),
      loadAverage15m: ratio(row['load_average15m']),
      containerCpuPercent: ratio(row['container_cpu_percent']),
      usagePercent: ratio(row['cpu_percent']),
    },
    memory: {
      totalBytes: int(row['memory_total_bytes']),
      usedBytes: int(row['memory_used_bytes']),
      availableBytes: int(row['memory_available_bytes']),
      containerUsedBytes: int(row['container_memory_bytes']),
    },
    disk: {
      totalBytes: int(row['disk_total_bytes']),
      usedBytes: int(row['disk_used_bytes']),
      availableBytes: int(row['disk_available_bytes']),
      attributedBytes: int(row['disk_attributed_bytes']),
    },
    inode: { total: int(row['inode_total']), used: int(row['inode_used']), available: int(row['inode_available']) },
    docker: {
      imageBytes: int(row['docker_image_bytes']),
      buildCacheBytes: int(row['docker_build_cache_bytes']),
      containerWritableBytes: int(row['docker_writable_bytes']),
    },
    network: { rxBytes: int(row['network_rx_bytes']), txBytes: int(row['network_tx_bytes']) },
  };
  const totals: Totals = {};
  for (const signal of wanted) (totals as Record<string, unknown>)[signal] = all[signal];
  return totals;
}

/** Columns averaged over a bucket (levels); the network columns are summed instead (amounts). */
export const levelColumns = [
  'logical_cores',
  'load_average1m',
  'load_average5m',
  'load_average15m',
  'container_cpu_percent',
  'cpu_percent',
  'memory_total_bytes',
  'memory_used_bytes',
  'memory_available_bytes',
  'container_memory_bytes',
  'disk_total_bytes',
  'disk_used_bytes',
  'disk_available_bytes',
  'disk_attributed_bytes',
  'inode_total',
  'inode_used',
  'inode_available',
  'docker_image_bytes',
  'docker_build_cache_bytes',
  'docker_writable_bytes',
] as const;
export const amountColumns = ['network_rx_bytes', 'network_tx_bytes'] as const;
