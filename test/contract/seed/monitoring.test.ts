import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { TelemetryBatchSchema } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { deploymentTarget, request, rig, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

let serverWithSamples: string | undefined;

/**
 * A server with a deployment and a minute of host and container samples, stored the way the telemetry stream
 * stores them.
 */
async function sampledServer(): Promise<string> {
  if (serverWithSamples !== undefined) return serverWithSamples;
  const target = await deploymentTarget();
  const deployed = await request({ method: 'POST', url: '/deployments', json: target });
  const { serverId } = target;
  const start = Date.now() - 60_000;
  for (let i = 0; i < 12; i++) {
    const observedAt = timestampFromDate(new Date(start + i * 5_000));
    const batch = create(TelemetryBatchSchema, {
      spoolId: 'contract',
      batchSeq: BigInt(i + 1),
      hosts: [
        {
          observedAt,
          logicalCores: 2,
          loadAverage1m: 0.5,
          cpuPercent: 10 + i,
          memoryTotalBytes: 1000n,
          memoryUsedBytes: 400n,
          memoryAvailableBytes: 600n,
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
        },
      ],
      containers: [
        {
          observedAt,
          containerId: 'c1',
          projectId: target.projectId,
          environmentId: target.environmentId,
          resourceId: target.resourceId,
          deploymentId: deployed.json().id,
          cpuPercent: 1.5,
          memoryUsedBytes: 32n,
          networkRxBytes: 2n,
          networkTxBytes: 1n,
        },
      ],
    });
    await rig.t.parts.services.monitoring.ingest.storeBatch(rig.t.orm.em.fork(), serverId, batch, new Date());
  }
  serverWithSamples = serverId;
  return serverId;
}

const windowOf = () =>
  `window.from=${new Date(Date.now() - 3_600_000).toISOString()}&window.to=${new Date().toISOString()}`;

/** Monitoring samples, rollups and retention defaults (seed §2.6). */
describeSeedScenarios('monitoring', {
  'GET /runtime-monitoring/samples': async () =>
    request({
      method: 'GET',
      url: `/runtime-monitoring/samples?scope.kind=server&scope.serverId=${await sampledServer()}&${windowOf()}`,
    }),
  'GET /runtime-monitoring/rollup': async () =>
    request({
      method: 'GET',
      url: `/runtime-monitoring/rollup?scope.kind=server&scope.serverId=${await sampledServer()}&${windowOf()}&bucket=minute`,
    }),
  'POST /runtime-monitoring/thresholds': async () =>
    request({
      method: 'POST',
      url: '/runtime-monitoring/thresholds',
      json: {
        scope: { kind: 'server', serverId: await sampledServer() },
        rules: [{ signal: 'cpu', metric: 'usagePercent', warning: 1, critical: 2 }],
      },
    }),
  'GET /runtime-monitoring/thresholds': async () => {
    const serverId = await sampledServer();
    await request({
      method: 'POST',
      url: '/runtime-monitoring/thresholds',
      json: { scope: { kind: 'server', serverId }, rules: [{ signal: 'cpu', metric: 'usagePercent', warning: 1 }] },
    });
    return request({
      method: 'GET',
      url: `/runtime-monitoring/thresholds?scope.kind=server&scope.serverId=${serverId}`,
    });
  },
  'GET /runtime-usage/inspect': async () =>
    request({ method: 'GET', url: `/runtime-usage/inspect?scope.kind=server&scope.serverId=${await sampledServer()}` }),
  'GET /retention-defaults': () => request({ method: 'GET', url: '/retention-defaults' }),
  'POST /retention-defaults': () =>
    request({ method: 'POST', url: '/retention-defaults', json: { category: 'audit-rows', retentionDays: 400 } }),
  'GET /retention-defaults/{category}': () => request({ method: 'GET', url: '/retention-defaults/audit-rows' }),
});
