import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind, eventKind } from '../../shared/command-catalogue.js';
import type { DeploymentApplyPayload } from '../../shared/deployment-command.js';
import { EventSchema } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { sampleResultOf } from '../../test/helpers/command-samples.js';
import { type DeployFixture, startDeployFixture } from '../helpers/deploy-fixture.js';

/**
 * Issue 7's acceptance, as a client of the reference API would drive Berth: every path under `/api`, path ids
 * repeated in bodies, defaults spelled out, and a deploy token for the deploy — and not a single 4xx it did not cause.
 */
let f: DeployFixture;
const statuses: Array<{ call: string; status: number; body: string }> = [];

beforeAll(async () => {
  f = await startDeployFixture();
});
afterAll(async () => f?.close());

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, json?: unknown, token = f.token) {
  const res = await f.t.request({ method, url: `/api${url}`, token, ...(json === undefined ? {} : { json }) });
  statuses.push({ call: `${method} ${url}`, status: res.statusCode, body: res.body });
  return res;
}

describe('a client of the reference API', () => {
  it('goes from project to a deployment followed to its end with a deploy token, without a 4xx it did not cause', async () => {
    const decoder = new TextDecoder();
    const { serverId } = await f.connectServer(async (command, agent) => {
      if (command.kind !== commandKind.deploymentApply)
        return { succeeded: true, result: sampleResultOf(command.kind) };
      const { spec } = JSON.parse(decoder.decode(command.payloadJson)) as DeploymentApplyPayload;
      for (const eventType of ['deployment-started', 'container-started', 'health-check-passed']) {
        const attributes = {
          deploymentId: spec.deploymentId,
          eventType,
          phase: 'verify',
          status: 'running',
          summary: eventType,
        };
        agent.send({
          case: 'event',
          value: create(EventSchema, {
            kind: eventKind.deploymentProgress,
            observedAt: timestampFromDate(new Date()),
            attributes,
          }),
        });
      }
      return {
        succeeded: true,
        result: {
          containerId: 'c',
          containerName: 'n',
          accessUrl: 'http://127.0.0.1:20002',
          listenPort: 20002,
          trafficSwitch: 'caddy',
          replacedDeploymentIds: [],
        },
      };
    });
    const projectId = (await call('POST', '/projects', { name: 'Client', description: null })).json().id;
    const environmentId = (
      await call('POST', '/environments', { projectId, name: 'production', kind: 'production' })
    ).json().id;
    const resourceId = (
      await call('POST', '/resources', {
        projectId,
        environmentId,
        name: 'web',
        kind: 'application',
        description: null,
        services: [],
      })
    ).json().id;
    // Path ids repeated in bodies, defaults spelled out, a docker:// locator, full profile objects.
    await call('POST', `/resources/${resourceId}/source`, {
      resourceId,
      source: {
        kind: 'docker-image',
        locator: 'docker://berth-test/web:1',
        imageName: 'berth-test/web',
        imageTag: '1',
        imageDigest: null,
        version: '1',
        versionKind: 'tag',
        displayName: null,
      },
      idempotencyKey: `configure-source-${resourceId}`,
    });
    await call('POST', `/resources/${resourceId}/network-profile`, {
      resourceId,
      networkProfile: {
        internalPort: 8080,
        upstreamProtocol: 'http',
        exposureMode: 'reverse-proxy',
        targetServiceName: null,
        hostPort: null,
      },
    });
    await call('POST', `/resources/${resourceId}/runtime-profile`, {
      resourceId,
      runtimeProfile: {
        strategy: 'auto',
        installCommand: null,
        buildCommand: null,
        startCommand: null,
        runtimeName: null,
        publishDirectory: null,
        dockerfilePath: null,
        dockerComposeFilePath: null,
        buildTarget: null,
        healthCheckPath: '/',
        healthCheck: {
          enabled: true,
          type: 'http',
          intervalSeconds: 5,
          timeoutSeconds: 2,
          retries: 3,
          startPeriodSeconds: 0,
          http: {
            method: 'GET',
            scheme: 'http',
            host: null,
            port: null,
            path: '/',
            expectedStatusCode: 200,
            expectedResponseText: null,
          },
        },
      },
    });
    const issued = await call('POST', '/deploy-tokens', {
      organizationId: (await call('GET', '/organizations/current-context')).json().currentOrganization.organizationId,
      displayName: 'CI',
      scope: { projectIds: [projectId], workflowCommands: ['deploy'] },
    });
    const ciToken: string = issued.json().token;
    const deployment = await call(
      'POST',
      '/deployments',
      { projectId, environmentId, resourceId, serverId, executionMode: 'detached' },
      ciToken,
    );
    const id: string = deployment.json().id;
    const timeline = await call('GET', `/deployments/${id}/timeline/stream?untilTerminal=true`, undefined, ciToken);
    const frames = timeline.body
      .split('\n\n')
      .map((frame) => /^data: (.*)$/m.exec(frame)?.[1])
      .filter(Boolean)
      .map((d) => JSON.parse(d!));
    expect(frames.map((e) => e.event?.eventType ?? e.kind)).toEqual(
      expect.arrayContaining(['deployment-started', 'deployment-succeeded', 'terminal']),
    );
    const shown = await call('GET', `/deployments/${id}`, undefined, ciToken);
    expect(shown.json().deployment.status).toBe('succeeded');
    expect(statuses.filter((s) => s.status >= 400)).toEqual([]);

    // The token revoked: the next deploy is refused as unauthenticated.
    const tokenId: string = issued.json().tokenId;
    const organizationId: string = issued.json().organizationId;
    await call('POST', `/deploy-tokens/${tokenId}/revoke`, { organizationId, confirmation: { tokenId } });
    const refused = await f.t.request({
      method: 'POST',
      url: '/api/deployments',
      token: ciToken,
      json: { projectId, environmentId, resourceId, serverId },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('UNAUTHORIZED');
  });

  it('a deploy token without the deploy workflow command, or for another project, may read but not deploy', async () => {
    const { serverId } = await f.connectServer(async (command) => ({
      succeeded: true,
      result: sampleResultOf(command.kind),
    }));
    const ids = await f.createResource();
    const other = await f.createResource('other');
    const organizationId = (await call('GET', '/organizations/current-context')).json().currentOrganization
      .organizationId;
    const readOnly = (
      await call('POST', '/deploy-tokens', {
        organizationId,
        displayName: 'reader',
        scope: { projectIds: [ids.projectId], workflowCommands: ['preview-cleanup'] },
      })
    ).json().token;
    const noDeploy = await f.t.request({
      method: 'POST',
      url: '/api/deployments',
      token: readOnly,
      json: { ...ids, serverId },
    });
    expect(noDeploy.statusCode).toBe(403);
    expect(noDeploy.json()).toMatchObject({ code: 'FORBIDDEN_SCOPE' });
    expect(noDeploy.json().hint).toContain('workflowCommands');
    const elsewhere = await f.t.request({
      method: 'POST',
      url: '/api/deployments',
      token: readOnly,
      json: { ...other, serverId },
    });
    expect(elsewhere.statusCode).toBe(403);
    expect(
      (await f.t.request({ method: 'GET', url: `/api/resources/${ids.resourceId}`, token: readOnly })).statusCode,
    ).toBe(200);
  });
});
