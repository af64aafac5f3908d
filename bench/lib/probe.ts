import { percentile, round } from './stats.js';

/** Latencies of the control plane's own HTTP endpoints while a phase runs (ms). */
export interface ProbeResult {
  samples: number;
  /** GET /healthz answers without I/O: its latency is the control plane's event-loop lag (plus HTTP). */
  healthzP50Ms: number;
  healthzP99Ms: number;
  healthzMaxMs: number;
  /** GET /readyz runs `select 1` through the ORM pool (10 connections): it adds the wait for a pool connection. */
  readyzP50Ms: number;
  readyzP99Ms: number;
  readyzMaxMs: number;
}

async function timed(url: string): Promise<number> {
  const started = performance.now();
  try {
    await (await fetch(url, { signal: AbortSignal.timeout(30_000) })).arrayBuffer();
  } catch {
    // a timeout counts as 30 s
  }
  return performance.now() - started;
}

/** Probes /healthz and /readyz once a second (one at a time) until `stop()`, which returns the latencies. */
export function startProbe(httpUrl: string): { stop(): Promise<ProbeResult> } {
  const healthz: number[] = [];
  const readyz: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      healthz.push(await timed(`${httpUrl}/healthz`));
      readyz.push(await timed(`${httpUrl}/readyz`));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - started))));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        samples: healthz.length,
        healthzP50Ms: round(percentile(healthz, 50)),
        healthzP99Ms: round(percentile(healthz, 99)),
        healthzMaxMs: round(Math.max(...healthz)),
        readyzP50Ms: round(percentile(readyz, 50)),
        readyzP99Ms: round(percentile(readyz, 99)),
        readyzMaxMs: round(Math.max(...readyz)),
      };
    },
  };
}
