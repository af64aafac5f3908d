import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind } from '../../../shared/command-catalogue.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { sampleResults } from '../../../test/helpers/command-samples.js';
import { type DeployFixture, startDeployFixture } from '../../../test/helpers/deploy-fixture.js';
import type { FakeCommandOutcome } from '../../../test/helpers/fake-agent.js';

let t: TestApp;
let f: DeployFixture;
let organizationId: string;

beforeAll(async () => {
  t = await buildTestApp();
  const admin = await t.bootstrap();
  organizationId = admin.organizationId;
  f = await startDeployFixture({ t, token: admin.token });
});
/** Agents held mid-deployment; they are let go before the fixture closes, so nothing waits on them. */
const held: (() => void)[] = [];

afterAll(async () => {
  for (const release of held) release();
  await f?.close();
  await t?.close();
});

type Ids = { projectId: string; environmentId: string; resourceId: string; serverId: string };

const succeeded: FakeCommandOutcome = {
  succeeded: true,
  result: { ...sampleResults[commandKind.deploymentApply], containerName: 'c', accessUrl: null },
};
/** An agent that answers every command at once, successfully. */
const quickAgent = async (): Promise<FakeCommandOutcome> => succeeded;

const post = (url: string, json: unknown = {}) => f.t.request({ method: 'POST', url, token: f.token, json });
const plan = (ids: Partial<Ids> & Record<string, string>, token = f.token) =>
  f.t.request({ method: 'GET', url: `/deployments/plan?${new URLSearchParams(ids)}`, token });

async function rowCounts() {
  const rows = await f.t.orm.em
    .fork()
    .getConnection()
    .execute<{ deployments: string; commands: string; events: string }[]>(
      'select (select count(*) from deployments) as deployments, (select count(*) from agent_commands) as commands, (select count(*) from deployment_events) as events',
    );
  return rows[0];
}

async function waitForStatus(id: string, statuses: string[]) {
  for (let i = 0; i < 100; i++) {
    const shown = (await f.t.request({ method: 'GET', url: `/deployments/${id}`, token: f.token })).json();
    if (statuses.includes(shown.deployment.status)) return shown;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`deployment ${id} never reached ${statuses.join('/')}`);
}

describe('GET /deployments/plan', () => {
  it('previews a ready deployment with the runtime plan the deployment then stores, and creates nothing', async () => {
    const { serverId } = await f.connectServer(quickAgent);
    const ids = { ...(await f.createResource()), serverId };
    const before = await rowCounts();
    const res = await plan(ids);
    expect(res.statusCode, res.body).toBe(200);
    expect(await rowCounts()).toEqual(before);
    const body = res.json();
    expect(body).toMatchObject({
      schemaVersion: 'deployments.plan/v1',
      context: { ...ids, destinationId: null, resourceName: 'web', environmentName: 'production' },
      readiness: { status: 'ready', ready: true, reasonCodes: [] },
      source: { kind: 'docker-image', locator: 'berth-test/web:1', runtimeFamily: 'container-image', framework: null },
      planner: {
        supportTier: 'first-class',
        buildStrategy: 'prebuilt-image',
        packagingMode: 'split-deploy',
        targetKind: 'single-server',
      },
      artifact: { runtimeArtifactKind: 'image', runtimeArtifactIntent: 'use-image', image: 'berth-test/web:1' },
      commands: [],
      network: { internalPort: 8080 },
      health: { enabled: true, kind: 'http', path: '/', port: 8080, configured: false },
      access: { routeSource: 'loopback-port', hostname: '127.0.0.1', routeCount: 1 },
      warnings: [],
      unsupportedReasons: [],
      nextActions: [{ targetOperation: 'deployments.create', blockedReasonCode: null }],
    });
    // Secrets are neither opened nor shown: the plan names the variable, masked.
    expect(res.body).not.toContain('sk-deploy-fixture-secret');
    expect(body.environmentSnapshot.variables).toContainEqual(
      expect.objectContaining({ key: 'API_KEY', value: '****' }),
    );

    const created = await post('/deployments', ids);
    expect(created.statusCode, created.body).toBe(201);
    const shown = await waitForStatus(created.json().id, ['succeeded']);
    const comparable = ({ id: _id, generatedAt: _at, ...rest }: Record<string, unknown>) => rest;
    expect(comparable(shown.deployment.runtimePlan)).toEqual(comparable(body.runtimePlan));
  });

  it('lists the profile’s start command, and warns about an unpinned image, a missing port and ignored arguments', async () => {
    const { serverId } = await f.connectServer(quickAgent);
    const { projectId, environmentId } = await f.createResource();
    const created = await post('/resources', {
      projectId,
      environmentId,
      name: 'loose',
      source: { kind: 'docker-image', locator: 'busybox' },
      runtimeProfile: { startCommand: 'httpd -f', arguments: ['ignored'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const res = await plan({ projectId, environmentId, resourceId: created.json().id, serverId });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.readiness).toEqual({ status: 'ready', ready: true, reasonCodes: [] });
    expect(body.commands).toEqual([
      { kind: 'start', command: 'httpd -f', argv: ['/bin/sh', '-c', 'httpd -f'], source: 'resource-runtime-profile' },
    ]);
    expect(body.warnings.map((w: { code: string }) => w.code)).toEqual([
      'image-tag-mutable',
      'health-check-port-missing',
      'access-route-missing',
      'runtime-command-overridden',
    ]);
    expect(body.warnings[0]).toMatchObject({
      category: 'warning',
      evidence: [{ value: 'busybox' }],
      fixPath: [{ targetOperation: 'resources.configure-source', profileField: 'source.locator' }],
    });
    expect(body).toMatchObject({
      network: null,
      health: { port: null },
      access: { routeSource: 'none', routeCount: 0 },
    });
    const lean = await plan({
      projectId,
      environmentId,
      resourceId: created.json().id,
      serverId,
      includeCommandSpecs: 'false',
      includeAccessPlan: 'false',
    });
    expect(lean.json()).toMatchObject({ commands: [], access: null });
  });

  /** Each case sets up one broken admission rule and answers the ids to plan with. */
  const blockedCases: [string, () => Promise<Ids>][] = [
    [
      'resource-source-missing',
      async () => {
        const { serverId } = await f.connectServer(quickAgent);
        const { projectId, environmentId } = await f.createResource();
        const bare = await post('/resources', { projectId, environmentId, name: 'bare' });
        return { projectId, environmentId, resourceId: bare.json().id, serverId };
      },
    ],
    [
      'environment-locked',
      async () => {
        const { serverId } = await f.connectServer(quickAgent);
        const ids = await f.createResource();
        await post(`/environments/${ids.environmentId}/lock`);
        return { ...ids, serverId };
      },
    ],
    [
      'project-archived',
      async () => {
        const { serverId } = await f.connectServer(quickAgent);
        const ids = await f.createResource();
        expect((await post(`/projects/${ids.projectId}/archive`)).statusCode).toBe(200);
        return { ...ids, serverId };
      },
    ],
    [
      'environment-archived',
      async () => {
        const { serverId } = await f.connectServer(quickAgent);
        const ids = await f.createResource();
        const archived = await post(`/environments/${ids.environmentId}/archive`);
        expect(archived.statusCode, archived.body).toBe(200);
        return { ...ids, serverId };
      },
    ],
    [
      'resource-archived',
      async () => {
        const { serverId } = await f.connectServer(quickAgent);
        const ids = await f.createResource();
        expect((await post(`/resources/${ids.resourceId}/archive`)).statusCode).toBe(200);
        return { ...ids, serverId };
      },
    ],
    [
      'server-unreachable',
      async () => {
        const server = await post('/servers', { name: 'never-seen', host: 'h', providerKey: 'p' });
        return { ...(await f.createResource()), serverId: server.json().id };
      },
    ],
    [
      'server-deactivated',
      async () => {
        const server = await post('/servers', { name: 'retired', host: 'h', providerKey: 'p' });
        await post(`/servers/${server.json().id}/deactivate`);
        return { ...(await f.createResource()), serverId: server.json().id };
      },
    ],
    [
      'deployment-in-progress',
      async () => {
        // The agent answers only when the file ends, so the first deployment stays under way.
        const { serverId } = await f.connectServer(
          () => new Promise<FakeCommandOutcome>((resolve) => held.push(() => resolve(succeeded))),
        );
        const ids = { ...(await f.createResource()), serverId };
        expect((await post('/deployments', ids)).statusCode).toBe(201);
        return ids;
      },
    ],
  ];

  it.each(blockedCases)(
    'reports %s as a reason, with the message POST /deployments refuses with',
    async (code, setUp) => {
      const ids = await setUp();
      const res = await plan(ids);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.readiness).toEqual({ status: 'blocked', ready: false, reasonCodes: [code] });
      const [reason] = body.unsupportedReasons;
      expect(reason).toMatchObject({ code, reasonCode: code, category: 'blocked', overridePath: [] });
      expect(reason.fixPath.length).toBeGreaterThan(0);
      expect(body.nextActions.at(-1)).toMatchObject({ targetOperation: 'deployments.create', blockedReasonCode: code });
      const refused = await post('/deployments', ids);
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ message: reason.message, hint: reason.recommendation });
    },
  );

  it('answers 404 for unknown ids and 400 for a missing, mismatched or unsupported query value', async () => {
    const { serverId } = await f.connectServer(quickAgent);
    const ids = { ...(await f.createResource()), serverId };
    const cases: [Record<string, string>, number, string][] = [
      [{ ...ids, resourceId: 'res-nope' }, 404, 'resourceId'],
      [{ ...ids, serverId: 'srv-nope' }, 404, 'serverId'],
      [{ ...ids, projectId: 'prj-other' }, 400, 'projectId'],
      [{ ...ids, destinationId: 'dst-1' }, 400, 'destinationId'],
      [{ projectId: ids.projectId, environmentId: ids.environmentId, resourceId: ids.resourceId }, 400, 'serverId'],
    ];
    for (const [query, status, field] of cases) {
      const res = await plan(query);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json()).toMatchObject({ field });
    }
  });

  it('lets a deploy token preview what its scope covers, and nothing else', async () => {
    const { serverId } = await f.connectServer(quickAgent);
    const mine = { ...(await f.createResource()), serverId };
    const other = { ...(await f.createResource()), serverId };
    const issued = await post('/deploy-tokens', {
      organizationId,
      displayName: 'CI',
      scope: { projectIds: [mine.projectId], workflowCommands: ['deploy'] },
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const ci = issued.json().token as string;
    expect((await plan(mine, ci)).statusCode).toBe(200);
    const refused = await plan(other, ci);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('FORBIDDEN_SCOPE');
  });
});
