import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelemetryBatchSchema } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { registerServer } from '../../../test/helpers/register-server.js';

let t: TestApp;
let token: string;
let serverId: string;
let seq = 0;

/** A host sample taken now, with the CPU busy `cpuPercent` and the disk `diskUsed` of 1000 bytes used. */
async function sample(cpuPercent: number, diskUsed = 200) {
  seq += 1;
  const batch = create(TelemetryBatchSchema, {
    spoolId: 'thresholds',
    batchSeq: BigInt(seq),
    hosts: [
      {
        observedAt: timestampFromDate(new Date()),
        logicalCores: 2,
        cpuPercent,
        memoryTotalBytes: 1000n,
        memoryUsedBytes: 100n,
        memoryAvailableBytes: 900n,
        disks: [{ mount: '/', filesystem: '/dev/vda1', totalBytes: 1000n, usedBytes: BigInt(diskUsed) }],
      },
    ],
  });
  await t.parts.services.monitoring.ingest.storeBatch(t.orm.em.fork(), serverId, batch, new Date());
}

const show = async () =>
  (
    await t.request({
      method: 'GET',
      url: `/runtime-monitoring/thresholds?scope.kind=server&scope.serverId=${serverId}`,
      token,
    })
  ).json();
const configure = (json: unknown) => t.request({ method: 'POST', url: '/runtime-monitoring/thresholds', token, json });

beforeAll(async () => {
  t = await buildTestApp({ env: { BERTH_TELEMETRY_INTERVAL_MS: '1000' } });
  ({ token } = await t.bootstrap());
  serverId = await registerServer(t, token, 'thresholds-1');
});
afterAll(async () => {
  await t?.close();
});

describe('runtime monitoring thresholds', () => {
  it('raises a warning as a sample crosses a boundary and clears it when the condition ends', async () => {
    await sample(10);
    const set = await configure({
      scope: { kind: 'server', serverId },
      rules: [{ signal: 'cpu', metric: 'usagePercent', warning: 50, critical: 90 }],
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().policy.rules).toEqual([
      {
        ruleId: 'cpu.usagePercent',
        signal: 'cpu',
        metric: 'usagePercent',
        warning: 50,
        critical: 90,
        comparator: 'greater-than-or-equal',
      },
    ]);
    expect((await show()).evaluation.state).toBe('ok');

    await new Promise((r) => setTimeout(r, 1600));
    await sample(70);
    const warned = await show();
    expect(warned.evaluation).toMatchObject({
      state: 'warning',
      crossed: [{ ruleId: 'cpu.usagePercent', severity: 'warning', observedValue: 70, boundary: 50 }],
    });
    expect(warned.evaluation.nextActions).toContain('inspect-runtime-usage');
    // Raised on arrival: the stored evaluation says since when.
    expect(warned.evaluation.since).not.toBeNull();

    await new Promise((r) => setTimeout(r, 1600));
    await sample(95);
    expect((await show()).evaluation.state).toBe('critical');
    await new Promise((r) => setTimeout(r, 1600));
    await sample(5);
    const cleared = await show();
    expect(cleared.evaluation).toMatchObject({ state: 'ok', crossed: [], nextActions: [] });
  });

  it('reads stale when the samples stop', async () => {
    await new Promise((r) => setTimeout(r, 3_200));
    expect((await show()).evaluation.state).toBe('stale');
  });

  it('refuses unknown signals, metrics of another signal, out-of-range and inverted boundaries', async () => {
    const scope = { kind: 'server', serverId };
    for (const [rule, field] of [
      [{ signal: 'gpu', metric: 'usagePercent', warning: 1 }, 'rules[0].signal'],
      [{ signal: 'cpu', metric: 'usedBytes', warning: 1 }, 'rules[0].metric'],
      [{ signal: 'disk', metric: 'usedPercent', warning: 150 }, 'rules[0].warning'],
      [{ signal: 'disk', metric: 'usedPercent', warning: 90, critical: 80 }, 'rules[0].critical'],
      [{ signal: 'disk', metric: 'usedPercent' }, 'rules[0].warning'],
      [{ signal: 'disk', metric: 'usedPercent', warning: 1, comparator: 'less-than' }, 'rules[0].comparator'],
    ] as const) {
      const res = await configure({ scope, rules: [rule] });
      expect(res.statusCode, JSON.stringify(rule)).toBe(400);
      expect(res.json(), JSON.stringify(rule)).toMatchObject({ code: 'VALIDATION_ERROR', field });
    }
    const unknownScope = await configure({
      scope: { kind: 'server', serverId: 'srv-nope' },
      rules: [{ signal: 'cpu', metric: 'usagePercent', warning: 1 }],
    });
    expect(unknownScope.statusCode).toBe(404);
  });
});
