/**
 * Edge proxy: what Caddy, serving a Berth host route written by the agent's own code (agent/edge/caddy-edge.ts, with
 * its upstream looked up in the agent's loopback resolver), adds to a request, against the same upstream reached
 * directly; and the time from an `edge.sync` that carries a new `tls: acme` route to the first HTTPS answer with a
 * certificate issued by a real ACME CA (Debian's Pebble). Everything runs on loopback. Method and results:
 * docs/benchmarks.md.
 *
 *   npm run bench:edge                                   # about 40 s
 *   npm run bench:edge -- --concurrency 1,64 --duration 10 --json /tmp/edge.json
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createLogger } from '../shared/logger.js';
import { positive } from './lib/args.js';
import { type AcmeSample, measureAcmeHost } from './lib/edge-acme.js';
import { type LoadRun, type LoadTarget, loadRun, waitUntilServed } from './lib/edge-load.js';
import { acmeSummary, latencySummary, loadSummary, markdown } from './lib/edge-report.js';
import { caddyVersion, edgeResourceId, startEdgeRig } from './lib/edge-rig.js';
import { machineInfo, runBench, UndoSteps } from './lib/harness.js';
import { cpuPercent, machineBusySeconds } from './lib/proc.js';
import { percentile, progress, round } from './lib/stats.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    requests: { type: 'string' },
    rounds: { type: 'string' },
    'warmup-ms': { type: 'string' },
    'acme-hosts': { type: 'string' },
    'poll-ms': { type: 'string' },
    'timeout-seconds': { type: 'string' },
    json: { type: 'string' },
  },
});
const options = {
  /** Requests in flight at once, one load run per value (each on its own keep-alive agent of that many sockets). */
  concurrency: (args.concurrency ?? '1,32').split(',').map((raw) => positive('concurrency', raw.trim(), 1)),
  /** Seconds of one measured run (one mode, one concurrency, one round), unless `--requests` is given. */
  durationSeconds: positive('duration', args.duration, 4),
  /** Requests of one measured run instead of a duration. */
  requests: args.requests === undefined ? null : positive('requests', args.requests, 1),
  /** Direct and proxied runs alternate this many times at each concurrency. */
  rounds: positive('rounds', args.rounds, 2),
  /** Unrecorded load at the start of every run (opens the sockets, warms the JIT and Caddy's upstream pool). */
  warmupMs: positive('warmup-ms', args['warmup-ms'], 500),
  acmeHosts: positive('acme-hosts', args['acme-hosts'], 5),
  pollMs: positive('poll-ms', args['poll-ms'], 20),
  timeoutSeconds: positive('timeout-seconds', args['timeout-seconds'], 180),
};

const startedAt = Date.now();
const machine: Record<string, unknown> = machineInfo();
const report: Record<string, unknown> = { date: new Date().toISOString(), machine, settings: options };
const log = createLogger({ level: 'warn', name: 'bench-edge' });
const undo = new UndoSteps();
let phase = 'setup';

const plainHost = 'proxy.example.test';
const loadRuns: LoadRun[] = [];
const acmeSamples: AcmeSample[] = [];

async function main(): Promise<void> {
  const rig = await startEdgeRig(undo, log);
  const { caddy, upstream, resolver, edge, httpPort } = rig;
  machine['caddy'] = await caddyVersion();
  progress(
    startedAt,
    `Caddy ${machine['caddy']} (admin ${caddy.adminUrl}), Pebble, upstream :${upstream.port}, resolver ${resolver.address} up`,
  );

  rig.addRoute('bench-plain', plainHost, 'none');
  await rig.sync();
  const direct: LoadTarget = { mode: 'direct', port: upstream.port, host: `127.0.0.1:${upstream.port}` };
  const proxied: LoadTarget = { mode: 'caddy', port: httpPort, host: plainHost };
  await waitUntilServed(proxied, 10_000);
  progress(startedAt, `Caddy serves http://${plainHost}:${httpPort} → ${resolver.address} → :${upstream.port}`);

  phase = 'load';
  const busy0 = machineBusySeconds();
  const wall0 = performance.now();
  for (const concurrency of options.concurrency) {
    for (let r = 1; r <= options.rounds; r++) {
      // Alternating, so both modes see the same background load.
      for (const target of r % 2 === 1 ? [direct, proxied] : [proxied, direct]) {
        const run = await loadRun(target, concurrency, r, upstream.child.pid!, options);
        loadRuns.push(run);
        progress(
          startedAt,
          `${run.mode} c=${concurrency} round ${r}: ${run.requestsPerSecond} req/s, p50 ` +
            `${round(percentile(run.latencyMs, 50), 3)} ms, p99 ${round(percentile(run.latencyMs, 99), 3)} ms` +
            (run.failed > 0 ? `, ${run.failed} failed (${run.firstFailure})` : ''),
        );
      }
    }
  }
  report['machineCpuPercentWhileLoading'] = round(
    cpuPercent(machineBusySeconds() - busy0, (performance.now() - wall0) / 1000),
  );

  phase = 'acme';
  const root = await rig.pebble.issuerRootPem();
  for (let i = 1; i <= options.acmeHosts; i++) {
    const sample = await measureAcmeHost(rig, `bench-acme-${i}`, `app-${i}.example.test`, root, options.pollMs);
    acmeSamples.push(sample);
    progress(startedAt, `${sample.host}: sync ${sample.syncMs} ms, first HTTPS answer ${sample.firstAnswerMs} ms`);
  }
  // What the agent reads back, as `edge.inspect` would report it.
  const inspected = await edge.inspect({ tlsHostnames: acmeSamples.map((s) => s.host), resourceIds: [edgeResourceId] });
  report['servedCertificates'] = inspected.certificates.map((c) => ({
    hostname: c.hostname,
    served: c.served,
    issuer: c.issuer,
    notAfter: c.notAfter,
  }));
}

async function finish(outcome: string): Promise<void> {
  const failures = await undo.runAll();
  report['outcome'] = outcome;
  report['cleanUpFailures'] = failures;
  report['totalSeconds'] = round((Date.now() - startedAt) / 1000);
  const load = loadSummary(loadRuns, options.concurrency);
  if (load.length > 0) report['load'] = load;
  const acme = acmeSamples.length > 0 ? acmeSummary(acmeSamples) : null;
  if (acme !== null) report['acmeFirstAnswerMs'] = acme;
  report['samples'] = {
    loadRuns: loadRuns.map(({ latencyMs, ...run }) => ({
      ...run,
      seconds: round(run.seconds, 3),
      latencyMs: latencySummary(latencyMs),
    })),
    acme: acmeSamples,
  };
  if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  const { samples: _, ...headline } = report;
  process.stderr.write(`${JSON.stringify(headline, null, 2)}\n`);
  if (load.length > 0 || acme !== null) process.stdout.write(`${markdown(load, acme, acmeSamples)}\n`);
  if (failures.length > 0) progress(startedAt, `clean-up left: ${failures.join('; ')}`);
}

await runBench({ startedAt, timeoutSeconds: options.timeoutSeconds, report, phase: () => phase, main, finish });
