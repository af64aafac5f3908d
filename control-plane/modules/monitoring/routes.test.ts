import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelemetryBatchSchema } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { createWebResource, type WebResource } from '../../../test/helpers/create-web-resource.js';
import { registerServer } from '../../../test/helpers/register-server.js';

let t: TestApp;
let token: string;
let serverId: string;
let web: WebResource;
const spoolId = 'spool-a';
// Samples every second, one minute into the past up to now, with figures derived from their index.
const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
const at = (i: number) => new Date(start.getTime() + i * 1000);

function batch(seq: number, i: number, extra: { containers?: boolean } = {}) {
  return create(TelemetryBatchSchema, {
    spoolId,
    batchSeq: BigInt(seq),
    hosts: [
      {
        observedAt: timestampFromDate(at(i)),
        logicalCores: 2,
        loadAverage1m: i / 10,
        cpuPercent: i % 100,
        memoryTotalBytes: 1000n,
        memoryUsedBytes: BigInt(100 + i),
        memoryAvailableBytes: BigInt(900 - i),
        disks: [
          {
            mount: '/',
            filesystem: '/dev/vda1',
            totalBytes: 5000n,
            usedBytes: 2000n,
            availableBytes: 3000n,
            inodesTotal: 100n,
            inodesUsed: 10n,
            inodesAvailable: 90n,
          },
        ],
        networkRxBytes: 10n,
        networkTxBytes: 5n,
        containerCpuPercent: 3,
        containerMemoryBytes: 64n,
      },
    ],
    containers:
      extra.containers === false
        ? []
        : [
            {
              observedAt: timestampFromDate(at(i)),
              containerId: 'c1',
              projectId: web.projectId,
              environmentId: web.environmentId,
              resourceId: web.resourceId,
              deploymentId: 'dep-x',
              cpuPercent: 1.5,
              memoryUsedBytes: 32n,
              networkRxBytes: 2n,
              networkTxBytes: 1n,
            },
            {
              observedAt: timestampFromDate(at(i)),
              containerId: 'c2',
              projectId: web.projectId,
              environmentId: web.environmentId,
              resourceId: web.resourceId,
              deploymentId: 'dep-x',
              cpuPercent: 1.5,
              memoryUsedBytes: 32n,
              networkRxBytes: 2n,
              networkTxBytes: 1n,
            },
          ],
  });
}

const get = (url: string, who = token) => t.request({ method: 'GET', url, token: who });
const store = (b: ReturnType<typeof batch>) =>
  t.parts.services.monitoring.ingest.storeBatch(t.orm.em.fork(), serverId, b, new Date());

beforeAll(async () => {
  t = await buildTestApp({ env: { BERTH_TELEMETRY_INTERVAL_MS: '1000' } });
  ({ token } = await t.bootstrap());
  serverId = await registerServer(t, token, 'metrics-1');
  web = await createWebResource(t, token, 'Metrics');
  // 0..89 s, then a 20 s hole (the agent dropped 20 batches), then 110..119 s.
  for (let i = 0; i < 90; i++) await store(batch(i + 1, i));
  for (let i = 110; i < 120; i++) await store(batch(i + 1, i));
});
afterAll(async () => {
  await t?.close();
});

describe('runtime monitoring', () => {
  it('stores a resent batch once and counts a jump in sequence as dropped batches', async () => {
    await store(batch(5, 4));
    const knex = t.orm.em.getKnex();
    const [{ n }] = await knex('monitoring_samples').where({ server_id: serverId, kind: 'host' }).count({ n: '*' });
    expect(Number(n)).toBe(100);
    const cursor = await knex('telemetry_cursors').where({ server_id: serverId }).first();
    expect(cursor).toMatchObject({ spool_id: spoolId, last_batch_seq: '120', dropped_batches: '20' });
  });

  it("lists a server's samples oldest first with the seed's shapes, and says where samples are missing", async () => {
    const from = at(0).toISOString();
    const to = at(119).toISOString();
    const res = await get(
      `/runtime-monitoring/samples?scope.kind=server&scope.serverId=${serverId}&window.from=${from}&window.to=${to}&limit=720`,
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      schemaVersion: 'runtime-monitoring.samples.list/v1',
      scope: { kind: 'server', serverId },
      partial: true,
    });
    expect(body.samples).toHaveLength(100);
    expect(body.samples[0]).toMatchObject({
      observedAt: at(0).toISOString(),
      scopeEvidence: { scope: { kind: 'server', serverId }, serverId },
      totals: {
        cpu: { logicalCores: 2, usagePercent: 0, containerCpuPercent: 3 },
        memory: { totalBytes: 1000, usedBytes: 100, availableBytes: 900, containerUsedBytes: 64 },
        disk: { totalBytes: 5000, usedBytes: 2000, availableBytes: 3000 },
        inode: { total: 100, used: 10, available: 90 },
        network: { rxBytes: 10, txBytes: 5 },
      },
      labels: { artifactKind: 'server' },
    });
    const codes = body.warnings.map((w: { code: string }) => w.code);
    expect(codes).toContain('missing-samples');
    expect(codes).toContain('samples-dropped');
    const gap = body.warnings.find(
      (w: { code: string; message: string }) =>
        w.code === 'missing-samples' && w.message.includes(at(89).toISOString()),
    );
    expect(gap?.message).toContain(at(110).toISOString());
  });

  it('rolls samples up per minute in SQL, equal to the raw samples within rounding', async () => {
    const from = start.toISOString();
    const to = new Date(start.getTime() + 120_000).toISOString();
    const raw = (
      await get(
        `/runtime-monitoring/samples?scope.serverId=${serverId}&window.from=${from}&window.to=${to}&limit=720&signals=memory,network`,
      )
    ).json();
    const res = await get(
      `/runtime-monitoring/rollup?scope.kind=server&scope.serverId=${serverId}&window.from=${from}&window.to=${to}&bucket=minute&signals=memory&signals=network`,
    );
    expect(res.statusCode, res.body).toBe(200);
    const rollup = res.json();
    expect(rollup.series.map((s: { signal: string }) => s.signal)).toEqual(['memory', 'network']);
    const memory = rollup.series[0].points;
    expect(memory).toHaveLength(2);
    for (const point of memory) {
      const inBucket = raw.samples.filter(
        (s: { observedAt: string }) => s.observedAt >= point.from && s.observedAt < point.to,
      );
      expect(point.sampleCount).toBe(inBucket.length);
      const mean =
        inBucket.reduce(
          (sum: number, s: { totals: { memory: { usedBytes: number } } }) => sum + s.totals.memory.usedBytes,
          0,
        ) / inBucket.length;
      expect(point.totals.memory.usedBytes).toBe(Math.round(mean));
      expect(point.totals.cpu).toBeUndefined();
    }
    const network = rollup.series[1].points;
    expect(
      network.reduce(
        (sum: number, p: { totals: { network: { rxBytes: number } } }) => sum + p.totals.network.rxBytes,
        0,
      ),
    ).toBe(1000);
    expect(rollup.totals.network).toEqual({ rxBytes: 1000, txBytes: 500 });
    expect(rollup.topContributors[0]).toMatchObject({ scope: { kind: 'resource', resourceId: web.resourceId } });
  });

  it("adds a resource's containers up per bucket", async () => {
    const from = start.toISOString();
    const to = new Date(start.getTime() + 60_000).toISOString();
    const res = await get(
      `/runtime-monitoring/rollup?scope.kind=resource&scope.resourceId=${web.resourceId}&window.from=${from}&window.to=${to}&bucket=minute&signals=cpu,memory`,
    );
    expect(res.statusCode, res.body).toBe(200);
    const [cpu, memory] = res.json().series;
    expect(cpu.points[0].totals.cpu).toMatchObject({ containerCpuPercent: 3, loadAverage1m: null });
    expect(memory.points[0].totals.memory.containerUsedBytes).toBe(64);
    expect(cpu.points[0].sampleCount).toBe(120);
  });

  it('reads stale once the newest sample is older than three intervals', async () => {
    const res = await get(`/runtime-monitoring/samples?scope.kind=server&scope.serverId=${serverId}&limit=1`);
    // The newest sample is about a second old at most when the suite is fast; the window's default is the last hour.
    const newest = at(119).getTime();
    expect(res.json().freshness).toBe(Date.now() - newest <= 3000 ? 'live' : 'stale');
    const other = await registerServer(t, token, 'metrics-silent');
    const silent = await get(`/runtime-monitoring/samples?scope.serverId=${other}`);
    expect(silent.json()).toMatchObject({ freshness: 'stale', samples: [], retention: { retainedTo: null } });
  });

  it('refuses bad scopes, windows, signals and buckets with a clear envelope', async () => {
    const cases: Array<[string, number, string]> = [
      ['/runtime-monitoring/samples', 400, 'scope.kind'],
      ['/runtime-monitoring/samples?scope.kind=server', 400, 'scope.serverId'],
      ['/runtime-monitoring/samples?scope.kind=server&scope.serverId=srv-nope', 404, 'scope.serverId'],
      [`/runtime-monitoring/samples?scope.serverId=${serverId}&signals=cpu,gpu`, 400, 'signals'],
      [
        `/runtime-monitoring/samples?scope.serverId=${serverId}&window.from=2026-12-07T10:00:00Z&window.to=2026-12-07T09:00:00Z`,
        400,
        'window.from',
      ],
      [`/runtime-monitoring/samples?scope.serverId=${serverId}&window.from=2020-01-01T00:00:00Z`, 400, 'window.from'],
      [`/runtime-monitoring/samples?scope.serverId=${serverId}&limit=721`, 400, 'limit'],
      [`/runtime-monitoring/rollup?scope.serverId=${serverId}&bucket=day`, 400, 'bucket'],
      [
        `/runtime-monitoring/rollup?scope.serverId=${serverId}&bucket=minute&window.from=${new Date(Date.now() - 13 * 86_400_000).toISOString()}`,
        400,
        'bucket',
      ],
    ];
    for (const [url, status, field] of cases) {
      const res = await get(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(status);
      expect(res.json(), url).toMatchObject({ field, requestId: expect.any(String) });
    }
  });

  it('keeps samples for the retention default and refuses windows beyond it', async () => {
    const list = await get('/retention-defaults');
    expect(list.statusCode, list.body).toBe(200);
    expect(
      list.json().items.find((i: { category: string }) => i.category === 'runtime-monitoring-samples'),
    ).toMatchObject({
      schemaVersion: 'retention-defaults.policy/v1',
      retentionDays: 14,
      updatedAt: null,
    });
    const set = await t.request({
      method: 'POST',
      url: '/retention-defaults',
      token,
      json: { category: 'runtime-monitoring-samples', retentionDays: 1 },
    });
    expect(set.statusCode, set.body).toBe(200);
    const show = await get('/retention-defaults/runtime-monitoring-samples');
    expect(show.json()).toMatchObject({
      schemaVersion: 'retention-defaults.show/v1',
      policy: { id: set.json().id, retentionDays: 1 },
    });
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const refused = await get(`/runtime-monitoring/samples?scope.serverId=${serverId}&window.from=${twoDaysAgo}`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().hint).toContain('retention');
    const bad = await t.request({
      method: 'POST',
      url: '/retention-defaults',
      token,
      json: { category: 'everything', retentionDays: 1 },
    });
    expect(bad.statusCode).toBe(400);
    expect((await get('/retention-defaults/everything')).statusCode).toBe(400);
  });
});
