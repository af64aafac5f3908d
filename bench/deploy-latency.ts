/**
 * Deploy latency: `POST /deployments` → the resource's access URL answers the new version, over N deployments of
 * local images through the real control plane, agent bundle, private dockerd and Caddy, beside the floor of
 * `docker create` + `start` → the container answers HTTP on the same engine and network, measured in the same run
 * (one floor sample after each deployment). Method and results: docs/benchmarks.md.
 *
 *   npm run bench:deploy                      # 20 + 20, about 2 min
 *   npm run bench:deploy -- --deploys 50 --json /tmp/deploy.json
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { markdownTables, phaseBreakdown, summarize } from './lib/deploy-report.js';
import { BenchDeployRig } from './lib/deploy-rig.js';
import { type DeploySample, measureDeploy } from './lib/deploy-sample.js';
import { type FloorSample, measureFloor } from './lib/floor.js';
import { machineBusySeconds } from './lib/proc.js';
import { progress, round } from './lib/stats.js';

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    deploys: { type: 'string' },
    floor: { type: 'string' },
    'poll-ms': { type: 'string' },
    'timeout-seconds': { type: 'string' },
    json: { type: 'string' },
  },
});
const options = {
  deploys: positive('deploys', args.deploys, 20),
  floor: positive('floor', args.floor, 20),
  pollMs: positive('poll-ms', args['poll-ms'], 20),
  /** The API's minimum health check interval. */
  healthIntervalSeconds: 1,
  timeoutSeconds: positive('timeout-seconds', args['timeout-seconds'], 600),
};

const startedAt = Date.now();
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 1024 ** 3),
    node: process.version,
    kernel: os.release(),
    loadAverageAtStart: os.loadavg().map((load) => round(load, 2)),
  },
  settings: options,
};
const rig = new BenchDeployRig();
const deploys: DeploySample[] = [];
const floor: FloorSample[] = [];
let phase = 'setup';

async function main(): Promise<void> {
  const version = (n: number) => `bench-${n}`;
  await rig.start({
    image: `berth-test/web:${version(0)}`,
    healthIntervalSeconds: options.healthIntervalSeconds,
    progress: (line) => progress(startedAt, line),
  });
  const engine = await rig.docker.version();
  (report['machine'] as Record<string, unknown>)['dockerEngine'] = engine.Version;

  phase = 'images';
  // Built beforehand, so no deployment waits for a build; each has its own version string to wait for.
  const count = Math.max(options.deploys, options.floor);
  const buildStarted = Date.now();
  await Promise.all(Array.from({ length: count }, (_, i) => rig.images.web(version(i + 1))));
  progress(startedAt, `built ${count} images in ${Date.now() - buildStarted} ms`);

  phase = 'warm-up';
  // The first deployment of a resource also opens its Caddy listener and the agent's network: not measured.
  const first = await rig.deploy();
  const firstView = await rig.ended(first);
  if (firstView.status !== 'succeeded' || firstView.directUrl === null) {
    throw new Error(`warm-up deployment ended ${firstView.status}: ${firstView.errorCode} ${firstView.errorMessage}`);
  }
  const accessUrl = firstView.directUrl;
  progress(startedAt, `warm-up deployment succeeded; direct URL ${accessUrl}`);

  phase = 'measure';
  const busy0 = machineBusySeconds();
  const wall0 = performance.now();
  for (let i = 1; i <= count; i++) {
    // Interleaved, so both series see the same background load on this shared machine.
    if (i <= options.deploys) {
      const sample = await measureDeploy(rig, version(i), accessUrl, options.pollMs);
      deploys.push(sample);
      progress(startedAt, `deploy ${i}/${options.deploys}: ${Math.round(sample.latencyMs)} ms`);
    }
    if (i <= options.floor) {
      const sample = await measureFloor(rig.docker, `berth-test/web:${version(i)}`, version(i), options.pollMs);
      floor.push(sample);
      progress(startedAt, `floor ${i}/${options.floor}: ${Math.round(sample.totalMs)} ms`);
    }
  }
  const wallSeconds = (performance.now() - wall0) / 1000;
  report['machineCpuPercentWhileMeasuring'] = round(((machineBusySeconds() - busy0) / wallSeconds) * 100);
}

let finished = false;

async function finish(outcome: string): Promise<void> {
  if (finished) return;
  finished = true;
  const failures = await rig.stop();
  report['outcome'] = outcome;
  report['cleanUpFailures'] = failures;
  report['totalSeconds'] = round((Date.now() - startedAt) / 1000);
  if (deploys.length > 0) {
    report['deployMs'] = summarize(deploys.map((s) => s.latencyMs));
    report['postMs'] = summarize(deploys.map((s) => s.postMs));
    report['healthChecksPerDeploy'] = summarize(deploys.map((s) => s.healthChecks));
    report['phasesMs'] = phaseBreakdown(deploys);
  }
  if (floor.length > 0) report['floorMs'] = summarize(floor.map((s) => s.totalMs));
  report['samples'] = { deploys, floor };
  if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  const { samples: _, ...headline } = report;
  process.stderr.write(`${JSON.stringify(headline, null, 2)}\n`);
  if (deploys.length > 0 && floor.length > 0) process.stdout.write(`${markdownTables(deploys, floor)}\n`);
  if (failures.length > 0) progress(startedAt, `clean-up left: ${failures.join('; ')}`);
}

const watchdog = setTimeout(() => {
  progress(startedAt, `global timeout (${options.timeoutSeconds} s) during ${phase}: cleaning up`);
  report['timedOutIn'] = phase;
  void finish('timeout').finally(() => process.exit(2));
}, options.timeoutSeconds * 1000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(startedAt, `${signal}: cleaning up`);
    void finish('interrupted').finally(() => process.exit(130));
  });
}
try {
  await main();
  await finish('completed');
} catch (error) {
  report['error'] = error instanceof Error ? error.stack : String(error);
  report['failedIn'] = phase;
  report['lastOutput'] = rig.lastOutput();
  await finish('failed');
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
progress(startedAt, 'done');
// Keep-alive sockets to the removed servers may hold the loop a little longer; nothing is left to wait for.
process.exit();
