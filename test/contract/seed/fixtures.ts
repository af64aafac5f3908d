import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { commandKind } from '../../../shared/command-catalogue.js';
import type { EdgeInspectResult, EdgeRoute } from '../../../shared/edge-command.js';
import { createCertificateRequest, generateKeyPair } from '../../../shared/pki.js';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.js';
import { sampleResultOf } from '../../helpers/command-samples.js';
import { type DeployFixture, startDeployFixture } from '../../helpers/deploy-fixture.js';
import { documentedOperations } from './shape.js';

/** What every scenario of one test file shares: a control plane on its own database, logged in as its first admin. */
export interface SeedRig {
  t: TestApp;
  token: string;
  /** The answer to the one `POST /bootstrap/auth/first-admin` a database allows, which its scenario checks. */
  firstAdmin: LightMyRequestResponse;
  /** The `METHOD /path` keys of /openapi.json, spelled as the seed spells them. */
  documented: Set<string>;
}

/** The test file's rig, filled by the hooks `useSeedRig` registers. */
export const rig = {} as SeedRig;
let agentLink: DeployFixture | undefined;
const counters = { project: 0, environment: 0, server: 0 };

/**
 * Registers the hooks that build the rig before the file's scenarios and close it after them. `env` is read when
 * the rig is built, so a file's earlier `beforeAll` may start what it names (a DNS server).
 */
export function useSeedRig(options: { env?: () => Record<string, string> } = {}): SeedRig {
  beforeAll(async () => {
    rig.t = await buildTestApp({ env: options.env?.() });
    rig.firstAdmin = await rig.t.request({
      method: 'POST',
      url: '/bootstrap/auth/first-admin',
      json: { email: 'grace@example.com', displayName: 'Grace Hopper' },
    });
    expect(rig.firstAdmin.statusCode, rig.firstAdmin.body).toBe(201);
    rig.token = (await logIn()).token;
    rig.documented = documentedOperations((await rig.t.request({ method: 'GET', url: '/openapi.json' })).json());
  });
  afterAll(async () => {
    await agentLink?.close();
    await rig.t?.close();
  });
  return rig;
}

/** `inject` as the first admin (a `token` given overrides). */
export const request: TestApp['request'] = (options) => rig.t.request({ token: rig.token, ...options });

/** Runs SQL on the rig's database, for states the API cannot reach quickly (an ended deployment). */
export const sql = <T extends Record<string, unknown>[] = Record<string, unknown>[]>(
  query: string,
  params: unknown[],
): Promise<T> => rig.t.orm.em.fork().getConnection().execute<T>(query, params);

export const organization = (): string => rig.firstAdmin.json().organizationId;

export async function logIn(): Promise<{ token: string; sessionId: string }> {
  const res = await rig.t.request({
    method: 'POST',
    url: '/auth/sessions',
    json: { email: 'grace@example.com', password: rig.firstAdmin.json().generatedPassword },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

export async function createProject(options: { archived?: boolean } = {}): Promise<string> {
  counters.project += 1;
  const res = await request({
    method: 'POST',
    url: '/projects',
    json: { name: `Contract ${counters.project}`, description: 'made by the seed contract test' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (options.archived) {
    const archived = await request({ method: 'POST', url: `/projects/${id}/archive`, json: {} });
    expect(archived.statusCode, archived.body).toBe(200);
  }
  return id;
}

/** An environment (in a new project) with one plain and one secret variable. */
export async function createEnvironment(
  options: { locked?: boolean } = {},
): Promise<{ projectId: string; environmentId: string }> {
  counters.environment += 1;
  const projectId = await createProject();
  const res = await request({
    method: 'POST',
    url: '/environments',
    json: { projectId, name: `contract-env-${counters.environment}`, kind: 'staging' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const environmentId: string = res.json().id;
  for (const variable of [
    { key: 'LOG_LEVEL', value: 'info', kind: 'plain-config', exposure: 'runtime' },
    { key: 'SHARED_SECRET', value: 'contract-secret', kind: 'secret', exposure: 'runtime' },
  ]) {
    const set = await request({ method: 'POST', url: `/environments/${environmentId}/variables`, json: variable });
    expect(set.statusCode, set.body).toBe(200);
  }
  if (options.locked) await request({ method: 'POST', url: `/environments/${environmentId}/lock`, json: {} });
  return { projectId, environmentId };
}

/** A resource with every profile, a variable and a secret. */
export async function createResource(): Promise<string> {
  const { projectId, environmentId } = await createEnvironment();
  const res = await request({
    method: 'POST',
    url: '/resources',
    json: {
      projectId,
      environmentId,
      name: 'contract web',
      source: { kind: 'docker-image', locator: 'busybox:1.36', displayName: 'Busybox' },
      networkProfile: { internalPort: 8080 },
      runtimeProfile: { arguments: ['httpd', '-f', '-p', '8080'] },
      healthCheck: { http: { path: '/' } },
      accessProfile: { pathPrefix: '/' },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  await request({ method: 'POST', url: `/resources/${id}/variables`, json: { key: 'PORT', value: '8080' } });
  await request({ method: 'POST', url: `/resources/${id}/secrets`, json: { key: 'API_KEY', value: 'contract' } });
  return id;
}

/** A server whose agent has enrolled, so its credential section is filled. */
export async function createServer(options: { enrolled?: boolean; deactivated?: boolean } = {}): Promise<string> {
  counters.server += 1;
  const res = await request({
    method: 'POST',
    url: '/servers',
    json: { name: `contract-${counters.server}`, host: '127.0.0.1', port: 22, providerKey: 'generic-ssh' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (options.enrolled) {
    const issued = await request({
      method: 'POST',
      url: `/servers/${id}/credentials`,
      json: { credential: { kind: 'agent-enrollment' } },
    });
    const { keys } = await generateKeyPair();
    const enrolled = await rig.t.request({
      method: 'POST',
      url: '/agent/enrollments',
      json: {
        token: issued.json().enrollment.token,
        csrPem: await createCertificateRequest(keys, id),
        agentVersion: '0.1.0',
        hostname: 'contract',
      },
    });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
  }
  if (options.deactivated) await request({ method: 'POST', url: `/servers/${id}/deactivate`, json: {} });
  return id;
}

/** A fresh resource and a server marked connected (no agent runs: a deployment's command stays queued). */
export async function deploymentTarget(): Promise<{
  projectId: string;
  environmentId: string;
  resourceId: string;
  serverId: string;
}> {
  const resourceId = await createResource();
  const resource = (await request({ method: 'GET', url: `/resources/${resourceId}` })).json().resource;
  const serverId = await createServer();
  await sql("update servers set connection_state = 'connected' where id = ?", [serverId]);
  return { projectId: resource.projectId, environmentId: resource.environmentId, resourceId, serverId };
}

/**
 * A deployment of a fresh resource to a server marked connected (the command stays queued, which is enough for
 * shapes). `status` forces the stored status for the scenarios that need an ended one.
 */
export async function createDeployment(status?: 'succeeded' | 'failed'): Promise<{ id: string; resourceId: string }> {
  const target = await deploymentTarget();
  const res = await request({ method: 'POST', url: '/deployments', json: target });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (status) {
    await sql(
      "update agent_commands set state = 'expired' where id = (select command_id from deployments where id = ?)",
      [id],
    );
    await sql('update deployments set status = ?, finished_at = now(), error_message = ? where id = ?', [
      status,
      status === 'failed' ? 'set by the contract test' : null,
      id,
    ]);
    await sql(
      "insert into deployment_log_lines (deployment_id, timestamp, source, phase, level, message, masked) values (?, now(), 'application', 'verify', 'error', 'contract log line', false)",
      [id],
    );
  }
  return { id, resourceId: target.resourceId };
}

/** A later deployment of the same resource as `earlierId` that failed, so the earlier one can be rolled back to. */
export async function createLaterFailedDeployment(earlierId: string): Promise<string> {
  const later = await sql<{ id: string }[]>(
    "insert into deployments (id, organization_id, project_id, environment_id, resource_id, server_id, status, trigger_kind, snapshot, sealed_env, created_at, deadline_at, updated_at, finished_at) select 'dep-contract-later-' || substr(md5(random()::text), 1, 8), organization_id, project_id, environment_id, resource_id, server_id, 'failed', 'create', snapshot, sealed_env, now() + interval '1 second', deadline_at, now(), now() from deployments where id = ? returning id",
    [earlierId],
  );
  return later[0]!.id;
}

const utf8 = new TextDecoder();

/** The routes of the last `edge.sync` the fake agent received, which its `edge.inspect` reports as served. */
let edgeRoutes: EdgeRoute[] = [];

/** What the real agent's `edge.inspect` answers for `routes` on a Caddy serving exactly them. */
function servedEdge(routes: EdgeRoute[]): EdgeInspectResult {
  return {
    observedAt: new Date().toISOString(),
    reachable: true,
    error: '',
    adminUrl: 'http://127.0.0.1:2019',
    httpPort: 80,
    httpsPort: 443,
    appliedVersion: 1,
    routes: routes.map((r) => ({
      routeId: r.routeId,
      hostname: r.hostname,
      pathPrefix: r.pathPrefix,
      scheme: 'http',
      behavior: 'serve',
      redirectTo: null,
      redirectStatus: null,
      resourceId: r.resourceId,
      upstreamName: `${r.resourceId}.berth.internal`,
      upstreamPort: r.targetPort,
      resolvedUpstream: '172.18.0.2',
    })),
    foreignRouteCount: 0,
    certificates: [],
  };
}

/**
 * A resource deployed through the real agent link to a fake agent, which answers the deployment and the runtime
 * commands the way the real agent does (its shapes are in shared/), so runtime controls and health have a runtime.
 */
let deployedServerId: string | undefined;

/** The connected server {@link deployedResource} deployed to (deploying first when nothing was). */
export async function deployedServer(): Promise<string> {
  if (deployedServerId === undefined) await deployedResource();
  return deployedServerId!;
}

export async function deployedResource(): Promise<string> {
  agentLink ??= await startDeployFixture({ t: rig.t, token: rig.token });
  const { serverId } = await agentLink.connectServer(async (command) => {
    const payload = JSON.parse(utf8.decode(command.payloadJson));
    if (command.kind === commandKind.deploymentApply) {
      return {
        succeeded: true,
        result: {
          containerId: 'c',
          containerName: 'berth-web-1',
          accessUrl: 'http://127.0.0.1:20001',
          listenPort: 20001,
          trafficSwitch: 'caddy',
          replacedDeploymentIds: [],
        },
      };
    }
    if (command.kind === commandKind.runtimeControl) {
      return {
        succeeded: true,
        result: {
          runtimeState: payload.operation === 'stop' ? 'stopped' : 'running',
          containerName: 'berth-web-1',
          accessUrl: null,
        },
      };
    }
    if (command.kind === commandKind.runtimeInspect) {
      const observedAt = new Date().toISOString();
      return {
        succeeded: true,
        result: {
          observedAt,
          container: {
            name: 'berth-web-1',
            state: 'running',
            running: true,
            exitCode: null,
            startedAt: observedAt,
            restartCount: 0,
          },
          route: { listenPort: 20001, upstreamPort: 32768 },
          probe: { ok: true, detail: 'GET / answered 200', durationMs: 3 },
        },
      };
    }
    if (command.kind === commandKind.edgeSync) {
      edgeRoutes = payload.routes;
      const result = { version: payload.version, status: 'ready', changed: true, httpPort: 80, httpsPort: 443 };
      return { succeeded: true, result: { ...result, appliedAt: new Date().toISOString() } };
    }
    if (command.kind === commandKind.edgeInspect) {
      return { succeeded: true, result: servedEdge(edgeRoutes) };
    }
    if (command.kind === commandKind.capacityInspect || command.kind === commandKind.capacityPrune) {
      return { succeeded: true, result: sampleResultOf(command.kind) };
    }
    return { succeeded: true, result: {} };
  });
  deployedServerId = serverId;
  const ids = await agentLink.createResource();
  const created = await request({ method: 'POST', url: '/deployments', json: { ...ids, serverId } });
  expect(created.statusCode, created.body).toBe(201);
  for (let i = 0; i < 100; i++) {
    const shown = (await request({ method: 'GET', url: `/deployments/${created.json().id}` })).json();
    if (shown.deployment.status === 'succeeded') return ids.resourceId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the deployment did not succeed');
}
