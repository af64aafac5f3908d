import type { DeploySample } from './deploy-sample.js';
import type { FloorSample } from './floor.js';
import { percentile, round } from './stats.js';

/** Nearest-rank percentiles and the extremes of a series, in ms with one decimal. */
export interface Summary {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** {@link Summary} of `values`. */
export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    mean: round(values.reduce((sum, value) => sum + value, 0) / values.length),
  };
}

type Point = keyof DeploySample['at'] | 'sent' | 'answered';

/** The stretches a deployment is split into, between two of its events (or the bench's own timestamps). */
const segments: Array<{ label: string; from: Point; to: Point }> = [
  {
    label: 'request sent → `deployment-requested` (API: admission, snapshot, command queued)',
    from: 'sent',
    to: 'deployment-requested',
  },
  {
    label: '→ `deployment-started` (command over the agent link, agent prepares the network)',
    from: 'deployment-requested',
    to: 'deployment-started',
  },
  { label: '→ `image-ready` (local image found)', from: 'deployment-started', to: 'image-ready' },
  { label: '→ `container-started` (create + start + read back)', from: 'image-ready', to: 'container-started' },
  {
    label: '→ `health-check-passed` (health policy, interval 1 s)',
    from: 'container-started',
    to: 'health-check-passed',
  },
  { label: '→ `traffic-switched` (inspect, Caddy route)', from: 'health-check-passed', to: 'traffic-switched' },
  {
    label: '→ new version answers at the access URL (seen by the 20 ms poll)',
    from: 'traffic-switched',
    to: 'answered',
  },
  {
    label: '`traffic-switched` → `deployment-succeeded` (2 s drain, old container stopped; not in the latency)',
    from: 'traffic-switched',
    to: 'deployment-succeeded',
  },
];

function pointOf(sample: DeploySample, point: Point): number | undefined {
  if (point === 'sent') return 0;
  if (point === 'answered') return sample.latencyMs;
  return sample.at[point];
}

/** Each segment's duration per deployment (ms), summarized; samples missing either event are left out. */
export function phaseBreakdown(samples: readonly DeploySample[]) {
  return segments.map(({ label, from, to }) => {
    const values = samples.flatMap((s) => {
      const start = pointOf(s, from);
      const end = pointOf(s, to);
      return start === undefined || end === undefined ? [] : [end - start];
    });
    return { label, ...summarize(values) };
  });
}

const ms = (value: number) => `${Math.round(value)} ms`;
const times = (a: number, b: number) => `${(a / b).toFixed(1)}×`;

/** The headline and phase tables in the style of docs/benchmarks.md. */
export function markdownTables(deploys: readonly DeploySample[], floor: readonly FloorSample[]): string {
  const d = summarize(deploys.map((s) => s.latencyMs));
  const f = summarize(floor.map((s) => s.totalMs));
  const lines = [
    '| | p50 | p95 | min | max |',
    '|---|---|---|---|---|',
    `| **Deploy**: \`POST /deployments\` → the access URL answers the new version (n=${d.n}) | **${ms(d.p50)}** | **${ms(d.p95)}** | ${ms(d.min)} | ${ms(d.max)} |`,
    `| **Floor**: \`docker create\` + \`start\` → the container answers HTTP (n=${f.n}) | **${ms(f.p50)}** | **${ms(f.p95)}** | ${ms(f.min)} | ${ms(f.max)} |`,
    `| **Ratio** deploy / floor | **${times(d.p50, f.p50)}** | **${times(d.p95, f.p95)}** | | |`,
    '',
    '| floor step | p50 | p95 |',
    '|---|---|---|',
  ];
  const floorSteps: Array<[string, keyof FloorSample]> = [
    ['create', 'createMs'],
    ['start', 'startMs'],
    ['inspect (host port)', 'inspectMs'],
    ['first HTTP answer after that', 'firstAnswerMs'],
    ['(remove, not counted)', 'removeMs'],
  ];
  for (const [label, key] of floorSteps) {
    const s = summarize(floor.map((sample) => sample[key]));
    lines.push(`| ${label} | ${ms(s.p50)} | ${ms(s.p95)} |`);
  }
  lines.push('', '| deployment phase (from its events) | median | p95 |', '|---|---|---|');
  for (const phase of phaseBreakdown(deploys)) lines.push(`| ${phase.label} | ${ms(phase.p50)} | ${ms(phase.p95)} |`);
  return lines.join('\n');
}
