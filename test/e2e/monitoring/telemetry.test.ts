import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../agent/processes.js';
import { DeployRig } from '../deployments/deploy-rig.js';

// One rig for the file (real control plane, agent bundle, private dockerd, Caddy), samples every second.
const rig = new DeployRig();
rig.extraControlPlaneEnv = { BERTH_TELEMETRY_INTERVAL_MS: '1000' };
let firstDeployment = '';

interface Sample {
  observedAt: string;
  collectedAt: string;
  freshness: 'live' | 'stale';
  scopeEvidence: { serverId: string; resourceId: string | null; deploymentId: string | null };
  totals: {
    cpu?: { logicalCores: number | null; containerCpuPercent: number | null; usagePercent: number | null };
    memory?: { totalBytes: number | null; usedBytes: number | null; containerUsedBytes: number | null };
    disk?: { totalBytes: number | null };
    inode?: { total: number | null };
  };
}
interface SamplesBody {
  freshness: 'live' | 'stale';
  partial: boolean;
  samples: Sample[];
  warnings: Array<{ code: string; message: string }>;
}

const samples = (query: string) => rig.api.expect<SamplesBody>(200, 'GET', `/runtime-monitoring/samples?${query}`);

beforeAll(async () => {
  await rig.start();
  firstDeployment = await rig.deploy();
  expect((await rig.ended(firstDeployment)).status).toBe('succeeded');
}, 180_000);
afterAll(async () => {
  console.log('monitoring e2e timings', rig.timings);
  await rig.stop();
}, 60_000);

describe('monitoring through a real agent', () => {
  it("reports the host and the deployed app's container, live", async () => {
    const app = await eventually(
      'container samples of the app',
      async () => {
        const body = await samples(`scope.kind=resource&scope.resourceId=${rig.resourceId}&limit=5`);
        return body.samples.length > 0 && body.freshness === 'live' ? body : undefined;
      },
      30_000,
      500,
    );
    const latest = app.samples.at(-1)!;
    expect(latest.scopeEvidence).toMatchObject({
      serverId: rig.serverId,
      resourceId: rig.resourceId,
      deploymentId: firstDeployment,
    });
    expect(latest.totals.memory?.containerUsedBytes).toBeGreaterThan(0);
    expect(latest.totals.cpu?.containerCpuPercent).toBeGreaterThanOrEqual(0);
    const host = await samples(`scope.kind=server&scope.serverId=${rig.serverId}&limit=5`);
    expect(host.freshness).toBe('live');
    const reading = host.samples.at(-1)!;
    expect(reading.totals.cpu?.logicalCores).toBeGreaterThanOrEqual(1);
    expect(reading.totals.memory?.totalBytes).toBeGreaterThan(
      reading.totals.memory?.usedBytes ?? Number.POSITIVE_INFINITY,
    );
    expect(reading.totals.disk?.totalBytes).toBeGreaterThan(0);
    expect(reading.totals.inode?.total).toBeGreaterThan(0);
    expect(reading.totals.memory?.containerUsedBytes).toBeGreaterThan(0);
    const rollup = await rig.api.expect<{ series: Array<{ signal: string; points: Array<{ sampleCount: number }> }> }>(
      200,
      'GET',
      `/runtime-monitoring/rollup?scope.kind=resource&scope.resourceId=${rig.resourceId}&bucket=minute&signals=cpu,memory`,
    );
    expect(rollup.series.map((s) => s.signal)).toEqual(['cpu', 'memory']);
    expect(rollup.series[0]!.points.reduce((sum, p) => sum + p.sampleCount, 0)).toBeGreaterThan(0);
  }, 60_000);

  it('reads stale while the link is cut for 60 s, then backfills the gap with the real observedAt', async () => {
    const cutAt = new Date();
    rig.proxy!.cut();
    await eventually(
      'freshness turns stale',
      async () => ((await samples(`scope.serverId=${rig.serverId}&limit=1`)).freshness === 'stale' ? true : undefined),
      15_000,
      500,
    );
    rig.timings['stale after cut'] = `${((Date.now() - cutAt.getTime()) / 1000).toFixed(1)} s`;
    await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() - cutAt.getTime())));
    const restoredAt = new Date();
    rig.proxy!.restore();
    await eventually(
      'freshness is live again',
      async () => ((await samples(`scope.serverId=${rig.serverId}&limit=1`)).freshness === 'live' ? true : undefined),
      60_000,
      500,
    );
    rig.timings['live after restore'] = `${((Date.now() - restoredAt.getTime()) / 1000).toFixed(1)} s`;
    const gap = await samples(
      `scope.serverId=${rig.serverId}&window.from=${cutAt.toISOString()}&window.to=${restoredAt.toISOString()}&limit=720`,
    );
    // One sample a second went to the spool while the link was down: about 60, each measured when it says.
    expect(gap.samples.length).toBeGreaterThanOrEqual(50);
    expect(
      gap.warnings.filter((w) => w.code === 'missing-samples'),
      JSON.stringify(gap.warnings),
    ).toEqual([]);
    const times = gap.samples.map((s) => Date.parse(s.observedAt));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThan(3000);
    const backfilled = gap.samples.filter((s) => s.freshness === 'stale');
    expect(backfilled.length).toBeGreaterThanOrEqual(45);
    for (const s of backfilled) expect(Date.parse(s.collectedAt)).toBeGreaterThanOrEqual(restoredAt.getTime() - 1000);
  }, 150_000);

  it('marks deployments on the rollup', async () => {
    await rig.setImage('berth-test/web:v2');
    const second = await rig.deploy();
    expect((await rig.ended(second)).status).toBe('succeeded');
    const rollup = await rig.api.expect<{
      deploymentMarkers: Array<{ deploymentId: string; label: string; correlation: string }>;
    }>(200, 'GET', `/runtime-monitoring/rollup?scope.kind=resource&scope.resourceId=${rig.resourceId}&bucket=minute`);
    const ids = rollup.deploymentMarkers.map((m) => m.deploymentId);
    expect(ids).toContain(firstDeployment);
    expect(ids).toContain(second);
    expect(rollup.deploymentMarkers.find((m) => m.deploymentId === second)).toMatchObject({
      label: 'Deployment succeeded',
      correlation: 'time',
    });
  }, 90_000);
});
