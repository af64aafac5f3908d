import type { AcmeSample } from './edge-acme.js';
import type { LoadRun, LoadTarget } from './edge-load.js';
import { percentile, round } from './stats.js';

/** Latency percentiles in ms with three decimals (µs resolution); no spread into Math.max: a run has 10^5 values. */
export function latencySummary(values: readonly number[]) {
  const at = (p: number) => round(percentile(values, p), 3);
  return {
    n: values.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: round(
      values.reduce((most, value) => Math.max(most, value), Number.NEGATIVE_INFINITY),
      3,
    ),
  };
}

/** Per concurrency, both modes' runs pooled, and what Caddy adds; a concurrency missing either mode is left out. */
export function loadSummary(loadRuns: readonly LoadRun[], concurrencies: readonly number[]) {
  const rows = [];
  for (const concurrency of concurrencies) {
    const of = (mode: LoadTarget['mode']) => {
      const runs = loadRuns.filter((run) => run.mode === mode && run.concurrency === concurrency);
      const latency = runs.flatMap((run) => run.latencyMs);
      const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
      const mean = (pick: (run: LoadRun) => number) =>
        round(runs.reduce((sum, run) => sum + pick(run), 0) / Math.max(1, runs.length));
      return {
        latencyMs: latencySummary(latency),
        requestsPerSecond: round(latency.length / seconds),
        failed: runs.reduce((sum, run) => sum + run.failed, 0),
        cpuPercent: {
          bench: mean((run) => run.cpuPercent.bench),
          upstream: mean((run) => run.cpuPercent.upstream),
          caddy: mean((run) => run.cpuPercent.caddy),
          machine: mean((run) => run.cpuPercent.machine),
        },
      };
    };
    const direct = of('direct');
    const caddy = of('caddy');
    if (direct.latencyMs.n === 0 || caddy.latencyMs.n === 0) continue;
    rows.push({
      concurrency,
      direct,
      caddy,
      addedMs: {
        p50: round(caddy.latencyMs.p50 - direct.latencyMs.p50, 3),
        p90: round(caddy.latencyMs.p90 - direct.latencyMs.p90, 3),
        p99: round(caddy.latencyMs.p99 - direct.latencyMs.p99, 3),
      },
      throughputRatio: round(caddy.requestsPerSecond / direct.requestsPerSecond, 2),
    });
  }
  return rows;
}

/** Sync → first HTTPS answer over the samples (ms), and the median of the syncs alone. */
export function acmeSummary(acmeSamples: readonly AcmeSample[]) {
  const values = acmeSamples.map((s) => s.firstAnswerMs);
  return {
    n: values.length,
    min: round(Math.min(...values)),
    median: round(percentile(values, 50)),
    max: round(Math.max(...values)),
    syncMedianMs: round(
      percentile(
        acmeSamples.map((s) => s.syncMs),
        50,
      ),
    ),
  };
}

/** The load and ACME tables in the style of docs/benchmarks.md. */
export function markdown(
  load: ReturnType<typeof loadSummary>,
  acme: ReturnType<typeof acmeSummary> | null,
  acmeSamples: readonly AcmeSample[],
): string {
  const lines = [
    '| concurrency | path | p50 ms | p90 ms | p99 ms | max ms | requests/s | failed | CPU % bench / upstream / caddy |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of load) {
    for (const [label, side] of [
      ['direct', row.direct],
      ['through Caddy', row.caddy],
    ] as const) {
      const { latencyMs: l, cpuPercent: c } = side;
      lines.push(
        `| ${row.concurrency} | ${label} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${side.requestsPerSecond} | ` +
          `${side.failed} | ${c.bench} / ${c.upstream} / ${c.caddy} |`,
      );
    }
    lines.push(
      `| ${row.concurrency} | **added by Caddy** | **${row.addedMs.p50}** | ${row.addedMs.p90} | **${row.addedMs.p99}** | | ` +
        `**×${row.throughputRatio}** | | |`,
    );
  }
  if (acme !== null) {
    lines.push('', '| host | sync ms | sync → first HTTPS answer ms | attempts | issuer |', '|---|---|---|---|---|');
    for (const s of acmeSamples)
      lines.push(`| ${s.host} | ${s.syncMs} | ${s.firstAnswerMs} | ${s.attempts} | ${s.issuer} |`);
    lines.push(
      '',
      `sync → first HTTPS answer: min ${acme.min} / median ${acme.median} / max ${acme.max} ms (n=${acme.n})`,
    );
  }
  return lines.join('\n');
}
