/**
 * Runtime logs and the agent's footprint: the log path's latency (a line written in a container → Docker's
 * timestamp on it → received by an SSE client of `GET /resources/{id}/runtime-logs/stream`), the lines per second
 * one agent sustains onto that stream, and the agent's RSS and CPU idle and under log load. The real control plane,
 * agent bundle, private dockerd and Caddy (bench/lib/deploy-rig.ts). Method and results: docs/benchmarks.md.
 *
 *   npm run bench:logs                          # about 2 min
 *   npm run bench:logs -- --seconds 60 --burst-rate 4000 --json /tmp/logs.json
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { ensureImage } from '../test/helpers/images.js';
import { openSse } from '../test/helpers/sse-client.js';
import { positive } from './lib/args.js';
import { BenchDeployRig } from './lib/deploy-rig.js';
import { cpuPercent, cpuSeconds, rssBytes } from './lib/proc.js';
import { mib, percentile, progress, round, sleep } from './lib/stats.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: 'string' },
    'steady-rate': { type: 'string' },
    'burst-rate': { type: 'string' },
    json: { type: 'string' },
  },
});
const options = {
  /** Length of each measured window (idle, steady, burst). */
  seconds: positive('seconds', args.seconds, 30),
  /** Lines per second the app writes while latency is measured. */
  steadyRate: positive('steady-rate', args['steady-rate'], 50),
  /** Lines per second the app tries to write in the sustained phase. */
  burstRate: positive('burst-rate', args['burst-rate'], 2000),
};
const startedAt = Date.now();
const rig = new BenchDeployRig();

interface LineFrame {
  kind: string;
  line: { timestamp: string; message: string };
}

/** Agent CPU (% of one core) and RSS over `seconds`, sampled once a second. */
async function footprint(pid: number, seconds: number) {
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(1_000);
    rss.push(rssBytes(pid));
  }
  return {
    cpuPercent: round(cpuPercent(cpuSeconds(pid) - cpu0, (Date.now() - t0) / 1000), 1),
    rssMiB: { median: round(mib(percentile(rss, 50)), 1), max: round(mib(Math.max(...rss)), 1) },
  };
}

/** Deploys the logger writing `rate` lines a second (ticks of 10 lines, or single lines below 100/s). */
async function deployLogger(rate: number): Promise<void> {
  const perTick = rate >= 100 ? 10 : 1;
  const tickUs = Math.round((perTick / rate) * 1_000_000);
  for (const [key, value] of [
    ['LINES_PER_TICK', String(perTick)],
    ['TICK_US', String(tickUs)],
  ]) {
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/variables`, { key, value });
  }
  const id = await rig.deploy();
  const done = await rig.ended(id, 120_000);
  if (done.status !== 'succeeded') throw new Error(`the logger deployment ${done.status}\n${rig.lastOutput()}`);
}

/** Follows the stream for `seconds` and reports latencies and the rate lines arrived at. */
async function measureStream(seconds: number) {
  const url = `${rig.api.url}/resources/${rig.resourceId}/runtime-logs/stream?tailLines=0`;
  const stream = await openSse(url, rig.api.token());
  await sleep(2_000);
  const from = stream.frames.length;
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const frames = stream.frames.slice(from).filter((f) => (f.data as LineFrame).kind === 'line');
  stream.close();
  const latencies = frames.map((f) => f.receivedAt - Date.parse((f.data as LineFrame).line.timestamp));
  // What the app wrote meanwhile, from its line numbers: received ≈ written means the path kept up.
  const numberOf = (f: (typeof frames)[number] | undefined) =>
    Number(/bench line (\d+)/.exec((f?.data as LineFrame | undefined)?.line.message ?? '')?.[1] ?? Number.NaN);
  const written = numberOf(frames.at(-1)) - numberOf(frames[0]) + 1;
  return {
    lines: frames.length,
    writtenByApp: Number.isFinite(written) ? written : null,
    missing: Number.isFinite(written) ? written - frames.length : null,
    linesPerSecond: Math.round(frames.length / ((Date.now() - t0) / 1000)),
    latencyMs: latencies.length
      ? { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) }
      : null,
  };
}

async function main() {
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: round(os.totalmem() / 1024 ** 3),
      node: process.version,
      kernel: os.release(),
      loadAverageAtStart: os.loadavg().map((l) => round(l, 2)),
    },
    settings: options,
  };
  await rig.start({
    image: 'berth-test/web:bench-0',
    healthIntervalSeconds: 1,
    progress: (l) => progress(startedAt, l),
  });
  await ensureImage(rig.docker, 'berth-bench/logger:1', {
    cmd: [
      '/bin/sh',
      '-c',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, read by the container's shell.
      'i=0; while :; do j=0; while [ $j -lt ${LINES_PER_TICK:-1} ]; do i=$((i+1)); j=$((j+1)); echo "bench line $i"; done; /bin/busybox usleep ${TICK_US:-1000000}; done & exec /bin/busybox httpd -f -p 8080 -h /www',
    ],
    www: { 'index.html': 'logger', healthz: 'ok\n' },
  });
  await rig.setImage('berth-bench/logger:1');
  const pid = rig.agentPid()!;

  // Idle: one app that prints a line a second.
  await deployLogger(1);
  await sleep(5_000);
  report['idle'] = await footprint(pid, options.seconds);
  progress(startedAt, `idle: ${JSON.stringify(report['idle'])}`);

  // Steady: latency of each line at a modest rate, with the agent's footprint meanwhile.
  await deployLogger(options.steadyRate);
  const [steady, steadyFootprint] = await Promise.all([
    measureStream(options.seconds),
    footprint(pid, options.seconds),
  ]);
  report['steady'] = { targetLinesPerSecond: options.steadyRate, ...steady, agent: steadyFootprint };
  progress(startedAt, `steady: ${JSON.stringify(report['steady'])}`);

  // Burst: as many lines as the app writes, for the sustained rate.
  await deployLogger(options.burstRate);
  const [burst, burstFootprint] = await Promise.all([measureStream(options.seconds), footprint(pid, options.seconds)]);
  report['burst'] = { targetLinesPerSecond: options.burstRate, ...burst, agent: burstFootprint };
  progress(startedAt, `burst: ${JSON.stringify(report['burst'])}`);

  const text = JSON.stringify(report, null, 2);
  console.log(text);
  if (args.json) await writeFile(args.json, `${text}\n`);
}

try {
  await main();
} finally {
  const problems = await rig.stop();
  for (const problem of problems) console.error(problem);
}
