import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { TelemetryBatchSchema } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { deployedResource, request, rig, sql, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

/** Runtime controls and health of a resource deployed to the fixtures' fake agent. */
describeSeedScenarios('runtime', {
  'POST /resources/{resourceId}/runtime/stop': async () =>
    request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/stop`, json: {} }),
  'POST /resources/{resourceId}/runtime/start': async () =>
    request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/start`, json: {} }),
  'POST /resources/{resourceId}/runtime/restart': async () =>
    request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/restart`, json: {} }),
  'GET /resources/{resourceId}/health': async () => {
    const resourceId = await deployedResource();
    await request({ method: 'POST', url: `/resources/${resourceId}/runtime/restart`, json: {} });
    return request({ method: 'GET', url: `/resources/${resourceId}/health?mode=live` });
  },
  'GET /resources/{resourceId}/diagnostic-summary': async () => {
    const resourceId = await deployedResource();
    const [deployment] = await sql<{ id: string; server_id: string }[]>(
      'select id, server_id from deployments where resource_id = ?',
      [resourceId],
    );
    await sql(
      "insert into deployment_log_lines (deployment_id, timestamp, source, phase, level, message, masked) values (?, now(), 'agent', 'verify', 'info', 'contract log line', false)",
      [deployment!.id],
    );
    await rig.t.parts.services.monitoring.ingest.storeBatch(
      rig.t.orm.em.fork(),
      deployment!.server_id,
      create(TelemetryBatchSchema, {
        spoolId: 'contract-diagnostics',
        batchSeq: 1n,
        channel: 'logs',
        logLines: [
          {
            observedAt: timestampFromDate(new Date()),
            containerId: 'c0ffee',
            resourceId,
            deploymentId: deployment!.id,
            serviceName: 'web',
            stream: 'stderr',
            message: 'warning: contract',
            sequence: 1n,
          },
        ],
      }),
      new Date(),
    );
    return request({ method: 'GET', url: `/resources/${resourceId}/diagnostic-summary` });
  },
  'GET /resources/{resourceId}/health-history': async () => {
    const resourceId = await deployedResource();
    await request({ method: 'POST', url: `/resources/${resourceId}/runtime/restart`, json: {} });
    // A live read is kept as an observation, like the periodic checks.
    await request({ method: 'GET', url: `/resources/${resourceId}/health?mode=live` });
    return request({ method: 'GET', url: `/resources/${resourceId}/health-history` });
  },
});
