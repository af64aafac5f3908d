import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImage } from '../../helpers/images.js';
import { openSse, type SseFrame } from '../../helpers/sse-client.js';
import { eventually } from '../agent/processes.js';
import { DeployRig } from '../deployments/deploy-rig.js';

// One rig for the file (real control plane, agent bundle, private dockerd, Caddy), samples every second.
const rig = new DeployRig();
rig.extraControlPlaneEnv = { BERTH_TELEMETRY_INTERVAL_MS: '1000', BERTH_HEALTH_HISTORY_INTERVAL_SECONDS: '5' };
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

  it("inspects the server's capacity live, and prunes only Berth's leftovers: the dry run's list is what the real run removes", async () => {
    // v1 ran first, v2 replaced it; v3 makes v1 neither current nor the rollback candidate.
    await rig.images.web('v3');
    await rig.setImage('berth-test/web:v3');
    const third = await rig.deploy();
    expect((await rig.ended(third)).status).toBe('succeeded');
    // A Berth container left stopped by a deployment nobody runs any more, and objects that are not Berth's.
    const leftover = await rig.docker.createContainer({
      Image: 'berth-test/web:v1',
      name: 'berth-shop-leftover',
      Labels: { 'berth.managed': 'true', 'berth.resource': rig.resourceId, 'berth.deployment': 'dep-long-gone' },
    });
    const foreignImage = await ensureImage(rig.docker, 'foreign/tool:1', { cmd: ['/bin/busybox', 'true'] });
    const unusedForeignImage = await ensureImage(rig.docker, 'foreign/unused:1', { cmd: ['/bin/busybox', 'false'] });
    const foreign = await rig.docker.createContainer({ Image: foreignImage, name: 'someone-elses-job' });
    // Named like Berth's, but without its label: not Berth's.
    const lookalike = await rig.docker.createContainer({ Image: foreignImage, name: 'berth-lookalike' });

    const capacity = await rig.api.expect<{
      disk: Array<{ size: number }>;
      docker: { imagesSize: number } | null;
      appaloftContainers: Array<{ name: string; deploymentId: string; running: boolean }>;
      safeReclaimableEstimate: { stoppedContainersSize: number; total: number };
      partial: boolean;
    }>(200, 'GET', `/servers/${rig.serverId}/capacity`);
    expect(capacity.partial).toBe(false);
    expect(capacity.disk[0]!.size).toBeGreaterThan(0);
    expect(capacity.docker!.imagesSize).toBeGreaterThan(0);
    const names = capacity.appaloftContainers.map((c) => c.name);
    expect(names).toContain('berth-shop-leftover');
    expect(names).not.toContain('someone-elses-job');
    expect(names).not.toContain('berth-lookalike');
    expect(capacity.appaloftContainers.find((c) => c.deploymentId === third)?.running).toBe(true);

    interface Prune {
      dryRun: boolean;
      summary: { matchedCount: number; prunedCount: number; excludedCount: number; reclaimedBytes: number };
      candidates: Array<{ id: string; target: string; category: string; action: string; skippedReason: string | null }>;
    }
    const body = { categories: ['stopped-containers', 'unused-images'] };
    const dry = await rig.api.expect<Prune>(200, 'POST', `/servers/${rig.serverId}/capacity/prune`, body);
    expect(dry.dryRun).toBe(true);
    const matched = dry.candidates.filter((c) => c.action === 'matched');
    expect(matched.map((c) => c.target).sort()).toEqual(['berth-shop-leftover', 'berth-test/web:v1']);
    const named = dry.candidates.map((c) => c.target);
    for (const foreignName of ['someone-elses-job', 'berth-lookalike', foreignImage, unusedForeignImage]) {
      expect(named).not.toContain(foreignName);
    }
    // The current image and the rollback candidate's are kept, and said so.
    expect(dry.candidates.find((c) => c.target === 'berth-test/web:v3')?.action).toBe('skipped');
    expect(dry.candidates.find((c) => c.target === 'berth-test/web:v2')).toMatchObject({
      action: 'skipped',
      skippedReason: 'rollback-candidate',
    });
    expect(dry.summary.excludedCount).toBeGreaterThanOrEqual(4);
    // Nothing was removed by the dry run.
    expect((await leftover.inspect()).Name).toBe('/berth-shop-leftover');

    const real = await rig.api.expect<Prune>(200, 'POST', `/servers/${rig.serverId}/capacity/prune`, {
      ...body,
      dryRun: false,
    });
    const pruned = real.candidates.filter((c) => c.action === 'pruned');
    expect(pruned.map((c) => c.id).sort()).toEqual(matched.map((c) => c.id).sort());
    expect(real.summary.prunedCount).toBe(2);
    expect(real.summary.reclaimedBytes).toBeGreaterThan(0);
    await expect(leftover.inspect()).rejects.toThrow();
    expect((await foreign.inspect()).Name).toBe('/someone-elses-job');
    expect((await lookalike.inspect()).Name).toBe('/berth-lookalike');
    for (const tag of [foreignImage, unusedForeignImage, 'berth-test/web:v2', 'berth-test/web:v3']) {
      expect((await rig.docker.getImage(tag).inspect()).Id, tag).toBeTruthy();
    }
    rig.timings['prune'] =
      `dry run matched ${matched.length}, excluded ${dry.summary.excludedCount}; real run freed ${real.summary.reclaimedBytes} bytes`;
  }, 120_000);

  it("follows the runtime log across a redeploy from the new container's first line, resumes from a cursor and masks secrets", async () => {
    // An app that prints a numbered line (with its secret) five times a second next to its web server.
    const chatty = await ensureImage(rig.docker, 'berth-test/chatty:1', {
      cmd: [
        '/bin/sh',
        '-c',
        'i=0; while true; do i=$((i+1)); echo "tick $i token=$API_TOKEN"; /bin/busybox sleep 0.2; done & exec /bin/busybox httpd -f -p 8080 -h /www',
      ],
      www: { 'index.html': 'chatty', healthz: 'ok\n' },
    });
    const secret = 'sk-live-0123456789abcdef';
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/variables`, {
      key: 'API_TOKEN',
      value: secret,
      kind: 'secret',
    });
    await rig.setImage(chatty);
    const first = await rig.deploy();
    expect((await rig.ended(first)).status).toBe('succeeded');

    type LineFrame = { kind: string; line: { deploymentId: string; message: string; masked: boolean; cursor: string } };
    const isLine = (f: SseFrame, deploymentId: string, text: RegExp) => {
      const d = f.data as LineFrame;
      return d.kind === 'line' && d.line.deploymentId === deploymentId && text.test(d.line.message);
    };
    const url = `${rig.api.url}/resources/${rig.resourceId}/runtime-logs/stream?tailLines=5`;
    const stream = await openSse(url, rig.api.token);
    expect(stream.status).toBe(200);
    const seen = await stream.waitFor((f) => isLine(f, first, /^tick \d+/), 15_000);
    const line = (seen.data as LineFrame).line;
    expect(line.message).toMatch(/^tick \d+ token=\*\*\*\*$/);
    expect(line.masked).toBe(true);
    expect(line.message).not.toContain(secret);

    // A redeploy: the same stream carries the new container's output, from its very first line.
    const redeployedAt = stream.frames.length;
    const second = await rig.deploy();
    expect((await rig.ended(second)).status).toBe('succeeded');
    const firstOfNew = await stream.waitFor((f) => isLine(f, second, /^tick /), 15_000, redeployedAt);
    expect((firstOfNew.data as LineFrame).line.message).toBe('tick 1 token=****');
    const later = await stream.waitFor((f) => isLine(f, second, /^tick 5 /), 15_000, redeployedAt);
    stream.close();
    const cursors = stream.frames.filter((f) => (f.data as LineFrame).kind === 'line').map((f) => Number(f.id));
    for (let i = 1; i < cursors.length; i++) expect(cursors[i]!).toBeGreaterThan(cursors[i - 1]!);

    // Reconnecting with Last-Event-ID gets exactly the lines after it: no gap, no repeat.
    await new Promise((r) => setTimeout(r, 1_000));
    const resumed = await openSse(url, rig.api.token, later.id);
    const next = await resumed.waitFor((f) => (f.data as LineFrame).kind === 'line', 10_000);
    resumed.close();
    const stored = await rig.api.expect<{ logs: Array<{ cursor: string }> }>(
      200,
      'GET',
      `/resources/${rig.resourceId}/runtime-logs?cursor=${later.id}&tailLines=1`,
    );
    expect(next.id).toBe(stored.logs[0]!.cursor);
    expect(Number(next.id)).toBeGreaterThan(Number(later.id));

    // The replaced container's tail was archived, masked like the rest.
    const archives = await eventually(
      'the replaced container is archived',
      async () => {
        const list = await rig.api.expect<{
          items: Array<{ archiveId: string; deploymentId: string; reason: string }>;
        }>(200, 'GET', `/resources/runtime-log-archives?resourceId=${rig.resourceId}`);
        return list.items.find((a) => a.deploymentId === first);
      },
      15_000,
      500,
    );
    const archive = await rig.api.expect<{ archive: { lineCount: number; lines: Array<{ message: string }> } }>(
      200,
      'GET',
      `/resources/runtime-log-archives/${archives.archiveId}`,
    );
    expect(archive.archive.lineCount).toBeGreaterThan(0);
    expect(archive.archive.lines.some((l) => l.message.includes(secret))).toBe(false);
    rig.timings['logs'] =
      `new container's first line ${((firstOfNew.receivedAt - Date.now()) / -1000).toFixed(1)} s ago at the end; ${cursors.length} lines streamed`;
  }, 120_000);

  it("opens a terminal in the app's container and on the server, runs a command, and records the session", async () => {
    const run = async (scope: Record<string, string>, command: string, expected: string) => {
      const opened = await rig.api.expect<{ sessionId: string; transport: { path: string } }>(
        201,
        'POST',
        '/terminal-sessions',
        { scope },
      );
      const ws = new WebSocket(
        `${rig.api.url.replace(/^http/, 'ws')}${opened.transport.path}?access_token=${rig.api.token}`,
      );
      const frames: Array<{ type: string; data?: string; exitCode?: number | null; reason?: string }> = [];
      let socketError = '';
      ws.addEventListener('error', (event) => {
        socketError = String((event as { message?: string }).message ?? 'error');
      });
      const waitFor = (match: (f: (typeof frames)[number]) => boolean, what: string) =>
        eventually(
          what,
          async () => {
            const found = frames.find(match);
            if (found === undefined && frames.some((f) => f.type === 'error' || f.type === 'closed')) {
              throw new Error(`frames: ${JSON.stringify(frames)}`);
            }
            if (found === undefined && socketError) throw new Error(`socket: ${socketError}, state ${ws.readyState}`);
            return found;
          },
          20_000,
          50,
        );
      ws.addEventListener('message', (event) => frames.push(JSON.parse(String(event.data))));
      await waitFor((f) => f.type === 'ready', 'the terminal is ready');
      ws.send(JSON.stringify({ type: 'resize', rows: 40, cols: 120 }));
      ws.send(JSON.stringify({ type: 'input', data: `${command}\n` }));
      await eventually(
        `the output of ${command}`,
        async () =>
          frames
            .filter((f) => f.type === 'output')
            .map((f) => f.data)
            .join('')
            .includes(expected)
            ? true
            : undefined,
        20_000,
        50,
      );
      ws.send(JSON.stringify({ type: 'input', data: 'exit 0\n' }));
      const closed = await waitFor((f) => f.type === 'closed', 'the session closes');
      expect(closed).toMatchObject({ reason: 'exited', exitCode: 0 });
      const shown = await eventually(
        'the session is recorded as closed',
        async () => {
          const body = await rig.api.expect<{
            item: { status: string; exitCode: number | null; openedByUserId: string };
          }>(200, 'GET', `/terminal-sessions/${opened.sessionId}`);
          return body.item.status === 'closed' ? body.item : undefined;
        },
        10_000,
        200,
      );
      expect(shown.exitCode).toBe(0);
      expect(shown.openedByUserId).toMatch(/^usr-/);
      return opened.sessionId;
    };
    const inContainer = await run(
      { kind: 'resource', resourceId: rig.resourceId },
      'echo berth-$((6*7)) && ls /www',
      'berth-42',
    );
    const onServer = await run({ kind: 'server', serverId: rig.serverId }, 'echo host-$((2+3))', 'host-5');
    const listed = await rig.api.expect<{ items: Array<{ sessionId: string; status: string }> }>(
      200,
      'GET',
      '/terminal-sessions',
    );
    expect(listed.items.map((i) => i.sessionId)).toEqual(expect.arrayContaining([inContainer, onServer]));

    // A stopped container gets no terminal, with the reason and what to do.
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/runtime/stop`, {});
    const refused = await rig.api.call<{ code: string; hint: string; details: { reason: string } }>(
      'POST',
      '/terminal-sessions',
      { scope: { kind: 'resource', resourceId: rig.resourceId } },
    );
    expect(refused.status).toBe(409);
    expect(refused.body.details.reason).toBe('container_not_running');
    expect(refused.body.hint).toContain('runtime/start');
    // The diagnostic summary says what is wrong and what to do, with the app's last lines (secrets masked).
    const diagnosis = await rig.api.expect<{
      diagnosis: { status: string; findings: Array<{ code: string; nextAction: string }> };
      runtimeLogs: { lines: Array<{ message: string; masked: boolean }> };
      redaction: { masked: boolean };
    }>(200, 'GET', `/resources/${rig.resourceId}/diagnostic-summary?tailLines=10`);
    expect(diagnosis.diagnosis.status).toBe('problem');
    expect(diagnosis.diagnosis.findings).toContainEqual(
      expect.objectContaining({ code: 'runtime-stopped', nextAction: 'start-runtime' }),
    );
    expect(diagnosis.runtimeLogs.lines.length).toBeGreaterThan(0);
    expect(diagnosis.redaction.masked).toBe(true);
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/runtime/start`, {});
  }, 120_000);

  it('keeps a health history from the periodic checks', async () => {
    const history = await eventually(
      'two periodic health observations',
      async () => {
        const body = await rig.api.expect<{ observations: Array<{ observedAt: string; overall: string }> }>(
          200,
          'GET',
          `/resources/${rig.resourceId}/health-history?limit=50`,
        );
        return body.observations.length >= 2 ? body : undefined;
      },
      30_000,
      1_000,
    );
    expect(new Set(history.observations.map((o) => o.observedAt)).size).toBe(history.observations.length);
    expect(history.observations.map((o) => o.overall)).toContain('healthy');
  }, 60_000);
});
