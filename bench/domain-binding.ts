/**
 * Domain binding to HTTPS: `POST /domain-bindings` for a deployed app → the first HTTPS answer by that name with a
 * certificate Caddy obtained from a real ACME CA (Debian's Pebble), and → the API showing that certificate `active`
 * with its issuer. Through the real control plane, the agent bundle, a private dockerd and Caddy, all on loopback
 * (every name is sent to 127.0.0.1 with SNI, as curl's --resolve). Method and results: docs/benchmarks.md.
 *
 *   npm run bench:domains                         # 5 bindings, about 1 min
 *   npm run bench:domains -- --bindings 10 --json /tmp/domains.json
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { freePort } from '../shared/free-port.js';
import { type PrivatePebble, startPebble } from '../test/helpers/pebble.js';
import { positive } from './lib/args.js';
import { BenchDeployRig } from './lib/deploy-rig.js';
import { httpsGet } from './lib/edge-acme.js';
import { machineInfo, runBench } from './lib/harness.js';
import { percentile, progress, round, sleep, waitFor } from './lib/stats.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    bindings: { type: 'string' },
    'poll-ms': { type: 'string' },
    'timeout-seconds': { type: 'string' },
    json: { type: 'string' },
  },
});
const options = {
  bindings: positive('bindings', args.bindings, 5),
  /** How often HTTPS and the API are tried while waiting. */
  pollMs: positive('poll-ms', args['poll-ms'], 20),
  timeoutSeconds: positive('timeout-seconds', args['timeout-seconds'], 300),
};

interface BindingSample {
  domainName: string;
  /** `POST /domain-bindings` call → its 201. */
  createMs: number;
  /** `POST /domain-bindings` call → the first HTTPS 200 with the app's body, chain verified against Pebble's root. */
  firstHttpsMs: number;
  /** `POST /domain-bindings` call → `GET /domain-bindings/{id}` shows the certificate `active`. */
  apiActiveMs: number;
  servedIssuer: string;
  apiIssuer: string | null;
}

const startedAt = Date.now();
const report: Record<string, unknown> = { date: new Date().toISOString(), machine: machineInfo(), settings: options };
const rig = new BenchDeployRig();
let pebble: PrivatePebble | undefined;
const samples: BindingSample[] = [];
let phase = 'setup';
const version = 'domains';

interface BindingDetail {
  certificates: Array<{ status: string; issuer: string | null }>;
}

async function main(): Promise<void> {
  pebble = await startPebble();
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  await rig.start({
    image: `berth-test/web:${version}`,
    healthIntervalSeconds: 1,
    progress: (line) => progress(startedAt, line),
    agentEnv: {
      BERTH_PROXY_HTTP_PORT: String(httpPort),
      BERTH_PROXY_HTTPS_PORT: String(httpsPort),
      BERTH_ACME_DIRECTORY_URL: pebble.directoryUrl,
      BERTH_ACME_CA_ROOTS: pebble.caRootsFile,
    },
  });
  await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/edge-proxy/configuration`, { proxyKind: 'caddy' });
  await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/edge-proxy/bootstrap`, {});
  const ready = await waitFor(
    async () => {
      const { server } = await rig.api.expect<{ server: { edgeProxy: { status: string } } }>(
        200,
        'GET',
        `/servers/${rig.serverId}`,
      );
      return server.edgeProxy.status === 'ready';
    },
    30_000,
    100,
  );
  if (!ready) throw new Error(`the edge proxy did not become ready\n${rig.lastOutput()}`);
  const deployed = await rig.ended(await rig.deploy());
  if (deployed.status !== 'succeeded') throw new Error(`the deployment ended ${deployed.status}`);
  progress(startedAt, `deployed; Caddy edge on :${httpPort} and :${httpsPort}, Pebble at ${pebble.directoryUrl}`);

  phase = 'bind';
  const root = await pebble.issuerRootPem();
  for (let i = 1; i <= options.bindings; i++) {
    const domainName = `bind-${i}.example.test`;
    const t0 = performance.now();
    const { id } = await rig.api.expect<{ id: string }>(201, 'POST', '/domain-bindings', {
      projectId: rig.projectId,
      environmentId: rig.environmentId,
      resourceId: rig.resourceId,
      domainName,
    });
    const createMs = performance.now() - t0;
    let served: { issuer: string } | null = null;
    let firstHttpsMs = 0;
    let last = '';
    while (served === null) {
      const answer = await httpsGet(httpsPort, domainName, root).catch((error: Error) => error);
      if (!(answer instanceof Error) && answer.status === 200 && answer.body.trim() === version) {
        served = answer;
        firstHttpsMs = performance.now() - t0;
        break;
      }
      last = answer instanceof Error ? answer.message : `${answer.status} ${answer.body.slice(0, 80)}`;
      if (performance.now() - t0 > 60_000) throw new Error(`${domainName}: no HTTPS answer in 60 s (last: ${last})`);
      await sleep(options.pollMs);
    }
    let apiIssuer: string | null = null;
    let apiActiveMs = 0;
    for (;;) {
      const detail = await rig.api.expect<BindingDetail>(200, 'GET', `/domain-bindings/${id}`);
      const active = detail.certificates.find((c) => c.status === 'active');
      if (active) {
        apiActiveMs = performance.now() - t0;
        apiIssuer = active.issuer;
        break;
      }
      if (performance.now() - t0 > 90_000) throw new Error(`${domainName}: the API showed no active certificate`);
      await sleep(options.pollMs);
    }
    const sample = {
      domainName,
      createMs: round(createMs),
      firstHttpsMs: round(firstHttpsMs),
      apiActiveMs: round(apiActiveMs),
      servedIssuer: served.issuer,
      apiIssuer,
    };
    samples.push(sample);
    progress(
      startedAt,
      `${domainName}: 201 in ${sample.createMs} ms, HTTPS after ${sample.firstHttpsMs} ms, API active after ${sample.apiActiveMs} ms (${apiIssuer})`,
    );
  }
}

const summary = (values: number[]) => ({
  p50: round(percentile(values, 50)),
  max: round(Math.max(...values)),
});

async function finish(outcome: string): Promise<void> {
  const failures = await rig.stop();
  await pebble?.stop().catch((error: Error) => failures.push(`pebble: ${error.message}`));
  report['outcome'] = outcome;
  report['cleanUpFailures'] = failures;
  report['totalSeconds'] = round((Date.now() - startedAt) / 1000);
  if (samples.length > 0) {
    report['createMs'] = summary(samples.map((s) => s.createMs));
    report['firstHttpsMs'] = summary(samples.map((s) => s.firstHttpsMs));
    report['apiActiveMs'] = summary(samples.map((s) => s.apiActiveMs));
  }
  report['samples'] = samples;
  if (args.json) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  const { samples: _, ...headline } = report;
  process.stderr.write(`${JSON.stringify(headline, null, 2)}\n`);
  if (samples.length > 0) {
    const row = (name: string, key: 'createMs' | 'firstHttpsMs' | 'apiActiveMs') => {
      const s = report[key] as { p50: number; max: number };
      return `| ${name} | ${s.p50} | ${s.max} |`;
    };
    process.stdout.write(
      [
        `| from POST /domain-bindings (${samples.length} bindings) | p50 ms | max ms |`,
        '|---|---|---|',
        row('201 answered', 'createMs'),
        row('first HTTPS answer, Pebble certificate', 'firstHttpsMs'),
        row('API shows the certificate active', 'apiActiveMs'),
      ].join('\n') + '\n',
    );
  }
  if (failures.length > 0) progress(startedAt, `clean-up left: ${failures.join('; ')}`);
}

await runBench({ startedAt, timeoutSeconds: options.timeoutSeconds, report, phase: () => phase, main, finish });
