import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { TelemetryBatchSchema } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { deployedResource, deployedServer, request, rig, sql, useSeedRig } from './fixtures.js';
import { describeSeedLogStreams, describeSeedScenarios } from './scenarios.js';

useSeedRig();

let logged: string | undefined;
let archiveId: string | undefined;

/** The deployed resource, with a few lines its container printed, stored as the logs stream stores them. */
async function resourceWithLogs(): Promise<string> {
  if (logged !== undefined) return logged;
  const resourceId = await deployedResource();
  const serverId = await deployedServer();
  const [deployment] = await sql<{ id: string }[]>('select id from deployments where resource_id = ? limit 1', [
    resourceId,
  ]);
  const batch = create(TelemetryBatchSchema, {
    spoolId: 'contract-logs',
    batchSeq: 1n,
    channel: 'logs',
    logLines: [1, 2, 3].map((n) => ({
      observedAt: timestampFromDate(new Date(Date.now() - (4 - n) * 1000)),
      containerId: 'c0ffee0123456789',
      resourceId,
      deploymentId: deployment!.id,
      serviceName: 'web',
      stream: n === 3 ? 'stderr' : 'stdout',
      message: `line ${n}`,
      sequence: BigInt(n),
    })),
  });
  await rig.t.parts.services.monitoring.ingest.storeBatch(rig.t.orm.em.fork(), serverId, batch, new Date());
  logged = resourceId;
  return resourceId;
}

async function archive(): Promise<string> {
  if (archiveId !== undefined) return archiveId;
  const res = await request({
    method: 'POST',
    url: `/resources/${await resourceWithLogs()}/runtime-log-archives`,
    json: {},
  });
  archiveId = res.json().archive.archiveId;
  return archiveId!;
}

/** Runtime logs of a resource and their archives (seed §2.7). */
describeSeedScenarios('runtime logs', {
  'GET /resources/{resourceId}/runtime-logs': async () =>
    request({ method: 'GET', url: `/resources/${await resourceWithLogs()}/runtime-logs` }),
  'POST /resources/{resourceId}/runtime-log-archives': async () =>
    request({ method: 'POST', url: `/resources/${await resourceWithLogs()}/runtime-log-archives`, json: {} }),
  'GET /resources/runtime-log-archives': async () => {
    await archive();
    return request({ method: 'GET', url: '/resources/runtime-log-archives' });
  },
  'GET /resources/runtime-log-archives/{archiveId}': async () =>
    request({ method: 'GET', url: `/resources/runtime-log-archives/${await archive()}` }),
  'POST /resources/runtime-log-archives/prune': async () =>
    request({
      method: 'POST',
      url: '/resources/runtime-log-archives/prune',
      json: {
        before: new Date().toISOString(),
        resourceId: await resourceWithLogs(),
        deploymentId: 'dep-none',
        serverId: await deployedServer(),
        serviceName: 'web',
      },
    }),
});

describeSeedLogStreams('runtime logs', {
  'GET /resources/{resourceId}/runtime-logs/stream': async () =>
    request({ method: 'GET', url: `/resources/${await resourceWithLogs()}/runtime-logs/stream?follow=false` }),
});
