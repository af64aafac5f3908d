import { readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateRequest, generateKeyPair } from '../../shared/pki.js';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { type DeployFixture, startDeployFixture } from '../helpers/deploy-fixture.js';

/** One endpoint of seed 001, as copied into the fixture. */
interface SeedEndpoint {
  method: string;
  path: string;
  query: string[];
  body_example: unknown;
  response_example: unknown;
}

const seed: SeedEndpoint[] = JSON.parse(
  readFileSync(new URL('../fixtures/seed-001-endpoints.json', import.meta.url), 'utf8'),
);
const seedByKey = new Map(seed.map((e) => [`${e.method} ${e.path}`, e]));

/** `/projects/:projectId` and `/projects/{projectId}` both become the seed's `/projects/{projectId}`. */
function seedPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Where `actual` departs from the shape of the seed's `example`, as JSON paths: every example key must be present
 * with the same type (null allowed for example strings and numbers; a `schemaVersion` must be equal), arrays are
 * compared by their first items, and extra keys in `actual` are fine.
 */
function shapeMismatches(example: unknown, actual: unknown, path = '$', key = ''): string[] {
  const expected = kindOf(example);
  // The seed renders a free-form map (additionalProperties) as an object with keys property1, property2.
  if (expected === 'object' && Object.keys(example as object).join() === 'property1,property2') {
    return kindOf(actual) === 'object' ? [] : [`${path}: expected a map, got ${kindOf(actual)}`];
  }
  const got = kindOf(actual);
  if (expected === 'null') return [];
  if (expected === 'object' && got === 'null' && nullUntilLaterModules.has(path)) return [];
  if (expected === 'string' || expected === 'number') {
    if (got === 'null') return [];
    if (got !== expected) return [`${path}: expected ${expected}, got ${got}`];
    if (key === 'schemaVersion' && actual !== example) {
      return [`${path}: expected ${JSON.stringify(example)}, got ${JSON.stringify(actual)}`];
    }
    return [];
  }
  if (got !== expected) return [`${path}: expected ${expected}, got ${got}`];
  if (expected === 'array') {
    const [first] = example as unknown[];
    if (first === undefined) return [];
    const items = actual as unknown[];
    if (items.length === 0 && (emptyUntilLaterModules.has(path) || emptyByNature.has(key))) return [];
    if (items.length === 0) return [`${path}: empty, so its items cannot be compared with the seed's`];
    return shapeMismatches(first, items[0], `${path}[0]`);
  }
  if (expected === 'object') {
    const target = actual as Record<string, unknown>;
    return Object.entries(example as Record<string, unknown>).flatMap(([name, value]) =>
      name in target ? shapeMismatches(value, target[name], `${path}.${name}`, name) : [`${path}.${name}: missing`],
    );
  }
  return [];
}

/** Lists that stay empty until the module that fills them exists (deployments, domains, storage). */
const emptyUntilLaterModules = new Set([
  '$.rollups.resources.deployedResourceIds',
  '$.rollups.domains.statusCounts',
  '$.storageAttachments',
  // A fully configured resource has nothing to diagnose.
  '$.diagnostics',
  // No value is hidden by another layer in the scenario's configuration.
  '$.overrides',
]);

/**
 * Lists (by field name) that are empty for a deployment of a prebuilt image with no dependencies, routes with no
 * domains yet, and a read with nothing blocked or failing.
 */
const emptyByNature = new Set([
  'dependencyBindingReferences',
  'references',
  'domains',
  'detectedFiles',
  'detectedScripts',
  'blockedReasonCodes',
  'sectionErrors',
  'sourceErrors',
  // Berth's admission rules have no override: a blocked deployment is fixed, never forced.
  'overridePath',
]);

/** Sections that are null, truthfully, until the module that fills them exists (deployments, routes, auto-deploy). */
const nullUntilLaterModules = new Set([
  '$.autoDeployPolicy',
  '$.accessSummary',
  '$.latestDeployment',
  '$.items[0].latestRuntimeControl',
  '$.items[0].accessSummary',
  // A deployment that succeeded has no error to show.
  '$.latestDeployment.lastError',
  // Route intents and access-failure evidence come with the edge-proxy work.
  '$.publicAccess.routeIntentStatus',
  '$.publicAccess.latestAccessFailure',
  // A prebuilt image is not built, so a plan selects no buildpack until source builds exist.
  '$.buildpack',
]);

let t: TestApp;
let token: string;
let firstAdmin: LightMyRequestResponse;
let documented: Set<string>;
let projectCounter = 0;

beforeAll(async () => {
  t = await buildTestApp();
  // The first admin can be created once only, so this call is the one its scenario checks.
  firstAdmin = await t.request({
    method: 'POST',
    url: '/bootstrap/auth/first-admin',
    json: { email: 'grace@example.com', displayName: 'Grace Hopper' },
  });
  expect(firstAdmin.statusCode, firstAdmin.body).toBe(201);
  token = (await logIn()).token;
  const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${seedPath(path)}`),
    ),
  );
});
afterAll(async () => {
  await agentLink?.close();
  await t?.close();
});

let agentLink: DeployFixture | undefined;
const utf8 = new TextDecoder();

/**
 * A resource deployed through the real agent link to a fake agent, which answers the deployment and the runtime
 * commands the way the real agent does (its shapes are in shared/), so runtime controls and health have a runtime.
 */
async function deployedResource(): Promise<string> {
  agentLink ??= await startDeployFixture({ t, token });
  const { serverId } = await agentLink.connectServer(async (command) => {
    const payload = JSON.parse(utf8.decode(command.payloadJson));
    if (command.kind === 'deployment.apply') {
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
    if (command.kind === 'runtime.control') {
      return {
        succeeded: true,
        result: {
          runtimeState: payload.operation === 'stop' ? 'stopped' : 'running',
          containerName: 'berth-web-1',
          accessUrl: null,
        },
      };
    }
    if (command.kind === 'runtime.inspect') {
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
    return { succeeded: true, result: {} };
  });
  const ids = await agentLink.createResource();
  const created = await t.request({ method: 'POST', url: '/deployments', token, json: { ...ids, serverId } });
  expect(created.statusCode, created.body).toBe(201);
  for (let i = 0; i < 100; i++) {
    const shown = (await t.request({ method: 'GET', url: `/deployments/${created.json().id}`, token })).json();
    if (shown.deployment.status === 'succeeded') return ids.resourceId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the deployment did not succeed');
}

async function logIn(): Promise<{ token: string; sessionId: string }> {
  const res = await t.request({
    method: 'POST',
    url: '/auth/sessions',
    json: { email: 'grace@example.com', password: firstAdmin.json().generatedPassword },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function createProject(options: { archived?: boolean } = {}): Promise<string> {
  projectCounter += 1;
  const res = await t.request({
    method: 'POST',
    url: '/projects',
    token,
    json: { name: `Contract ${projectCounter}`, description: 'made by the seed contract test' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (options.archived) {
    const archived = await t.request({ method: 'POST', url: `/projects/${id}/archive`, token, json: {} });
    expect(archived.statusCode, archived.body).toBe(200);
  }
  return id;
}

/** A deploy token with every scope list filled, so the seed's scope arrays can be compared item by item. */
async function createDeployToken(): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/deploy-tokens', token, json: deployTokenBody() });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().tokenId;
}

function deployTokenBody() {
  return {
    organizationId: organization(),
    displayName: 'CI',
    scope: {
      deploymentTargetIds: ['srv-contract'],
      environmentIds: ['env-contract'],
      projectIds: ['prj-contract'],
      repositoryFullNames: ['acme/web'],
      resourceIds: ['res-contract'],
      workflowCommands: ['deploy'],
    },
  };
}

let serverCounter = 0;

/** A server whose agent has enrolled, so its credential section is filled. */
async function createServer(options: { enrolled?: boolean; deactivated?: boolean } = {}): Promise<string> {
  serverCounter += 1;
  const res = await t.request({
    method: 'POST',
    url: '/servers',
    token,
    json: { name: `contract-${serverCounter}`, host: '127.0.0.1', port: 22, providerKey: 'generic-ssh' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (options.enrolled) {
    const issued = await t.request({
      method: 'POST',
      url: `/servers/${id}/credentials`,
      token,
      json: { credential: { kind: 'agent-enrollment' } },
    });
    const { keys } = await generateKeyPair();
    const enrolled = await t.request({
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
  if (options.deactivated) {
    await t.request({ method: 'POST', url: `/servers/${id}/deactivate`, token, json: {} });
  }
  return id;
}

let environmentCounter = 0;

/** An environment (in a new project) with one plain and one secret variable. */
async function createEnvironment(
  options: { locked?: boolean } = {},
): Promise<{ projectId: string; environmentId: string }> {
  environmentCounter += 1;
  const projectId = await createProject();
  const res = await t.request({
    method: 'POST',
    url: '/environments',
    token,
    json: { projectId, name: `contract-env-${environmentCounter}`, kind: 'staging' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const environmentId: string = res.json().id;
  for (const variable of [
    { key: 'LOG_LEVEL', value: 'info', kind: 'plain-config', exposure: 'runtime' },
    { key: 'SHARED_SECRET', value: 'contract-secret', kind: 'secret', exposure: 'runtime' },
  ]) {
    const set = await t.request({
      method: 'POST',
      url: `/environments/${environmentId}/variables`,
      token,
      json: variable,
    });
    expect(set.statusCode, set.body).toBe(200);
  }
  if (options.locked) await t.request({ method: 'POST', url: `/environments/${environmentId}/lock`, token, json: {} });
  return { projectId, environmentId };
}

/** A resource with every profile, a variable and a secret. */
async function createResource(): Promise<string> {
  const { projectId, environmentId } = await createEnvironment();
  const res = await t.request({
    method: 'POST',
    url: '/resources',
    token,
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
  await t.request({ method: 'POST', url: `/resources/${id}/variables`, token, json: { key: 'PORT', value: '8080' } });
  await t.request({
    method: 'POST',
    url: `/resources/${id}/secrets`,
    token,
    json: { key: 'API_KEY', value: 'contract' },
  });
  return id;
}

/**
 * A deployment of a fresh resource to a server marked connected (no agent runs in this test: the command stays
 * queued, which is enough for shapes). `status` forces the stored status for the scenarios that need an ended one.
 */
async function createDeployment(status?: 'succeeded' | 'failed'): Promise<{ id: string; resourceId: string }> {
  const resourceId = await createResource();
  const resource = (await t.request({ method: 'GET', url: `/resources/${resourceId}`, token })).json().resource;
  const serverId = await createServer();
  await t.orm.em
    .fork()
    .getConnection()
    .execute("update servers set connection_state = 'connected' where id = ?", [serverId]);
  const res = await t.request({
    method: 'POST',
    url: '/deployments',
    token,
    json: { projectId: resource.projectId, environmentId: resource.environmentId, resourceId, serverId },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (status) {
    await t.orm.em
      .fork()
      .getConnection()
      .execute(
        "update agent_commands set state = 'expired' where id = (select command_id from deployments where id = ?)",
        [id],
      );
    await t.orm.em
      .fork()
      .getConnection()
      .execute('update deployments set status = ?, finished_at = now(), error_message = ? where id = ?', [
        status,
        status === 'failed' ? 'set by the contract test' : null,
        id,
      ]);
    await t.orm.em
      .fork()
      .getConnection()
      .execute(
        "insert into deployment_log_lines (deployment_id, timestamp, source, phase, level, message, masked) values (?, now(), 'application', 'verify', 'error', 'contract log line', false)",
        [id],
      );
  }
  return { id, resourceId };
}

let sshCredentialCounter = 0;

/** A stored SSH credential; `inUse` has a server reference it, so its usage lists have an item. */
async function createSshCredential(options: { inUse?: boolean } = {}): Promise<string> {
  sshCredentialCounter += 1;
  const { pemKey } = await import('../helpers/ssh-keys.js');
  const { privateKey, publicKey } = pemKey();
  const res = await t.request({
    method: 'POST',
    url: '/credentials/ssh',
    token,
    json: {
      name: `contract-key-${sshCredentialCounter}`,
      kind: 'ssh-private-key',
      username: 'deploy',
      privateKey,
      publicKey,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (options.inUse) {
    const used = await t.request({
      method: 'POST',
      url: `/servers/${await createServer()}/credentials`,
      token,
      json: { credential: { kind: 'stored-ssh-private-key', credentialId: id } },
    });
    expect(used.statusCode, used.body).toBe(200);
  }
  return id;
}

const organization = (): string => firstAdmin.json().organizationId;
const confirmToken = (tokenId: string) => ({ organizationId: organization(), confirmation: { tokenId } });

type Scenario = () => Promise<LightMyRequestResponse>;

/** A valid request for every implemented seed endpoint; arrays the seed shows with items come back non-empty. */
const scenarios: Record<string, Scenario> = {
  'GET /bootstrap/auth/status': () => t.request({ method: 'GET', url: '/bootstrap/auth/status', token }),
  'POST /bootstrap/auth/first-admin': async () => firstAdmin,
  'GET /organizations/current-context': () =>
    t.request({ method: 'GET', url: '/organizations/current-context', token }),
  'GET /account/sessions': () => t.request({ method: 'GET', url: '/account/sessions', token }),
  'POST /account/sessions/{sessionId}/revoke': async () => {
    const own = await logIn();
    return t.request({ method: 'POST', url: `/account/sessions/${own.sessionId}/revoke`, token: own.token, json: {} });
  },
  'GET /projects/count': async () => {
    await createProject();
    return t.request({ method: 'GET', url: '/projects/count', token });
  },
  'GET /projects': async () => {
    await createProject({ archived: true });
    return t.request({ method: 'GET', url: '/projects?limit=10', token });
  },
  'POST /projects': () => t.request({ method: 'POST', url: '/projects', token, json: { name: 'Seed Create' } }),
  'GET /projects/{projectId}': async () =>
    t.request({ method: 'GET', url: `/projects/${await createProject({ archived: true })}`, token }),
  'DELETE /projects/{projectId}': async () => {
    const id = await createProject({ archived: true });
    return t.request({ method: 'DELETE', url: `/projects/${id}`, token, json: { confirmation: { projectId: id } } });
  },
  'POST /projects/{projectId}/rename': async () =>
    t.request({
      method: 'POST',
      url: `/projects/${await createProject()}/rename`,
      token,
      json: { name: 'Seed Renamed' },
    }),
  'POST /projects/{projectId}/description': async () =>
    t.request({
      method: 'POST',
      url: `/projects/${await createProject()}/description`,
      token,
      json: { description: 'new words' },
    }),
  'POST /projects/{projectId}/archive': async () =>
    t.request({ method: 'POST', url: `/projects/${await createProject()}/archive`, token, json: { reason: 'done' } }),
  'POST /projects/{projectId}/restore': async () =>
    t.request({ method: 'POST', url: `/projects/${await createProject({ archived: true })}/restore`, token }),
  'GET /projects/{projectId}/delete-check': async () =>
    t.request({ method: 'GET', url: `/projects/${await createProject()}/delete-check`, token }),
  'GET /environments/count': async () => {
    const { projectId } = await createEnvironment();
    return t.request({ method: 'GET', url: `/environments/count?projectId=${projectId}`, token });
  },
  'GET /environments': async () => {
    const { projectId } = await createEnvironment({ locked: true });
    return t.request({ method: 'GET', url: `/environments?projectId=${projectId}&limit=10`, token });
  },
  'POST /environments': async () =>
    t.request({
      method: 'POST',
      url: '/environments',
      token,
      json: { projectId: await createProject(), name: 'seed-create', kind: 'local' },
    }),
  'GET /environments/{environmentId}': async () =>
    t.request({
      method: 'GET',
      url: `/environments/${(await createEnvironment({ locked: true })).environmentId}`,
      token,
    }),
  'POST /environments/{environmentId}/lock': async () =>
    t.request({
      method: 'POST',
      url: `/environments/${(await createEnvironment()).environmentId}/lock`,
      token,
      json: {},
    }),
  'POST /environments/{environmentId}/unlock': async () =>
    t.request({
      method: 'POST',
      url: `/environments/${(await createEnvironment({ locked: true })).environmentId}/unlock`,
      token,
    }),
  'POST /environments/{environmentId}/archive': async () =>
    t.request({
      method: 'POST',
      url: `/environments/${(await createEnvironment()).environmentId}/archive`,
      token,
      json: {},
    }),
  'POST /environments/{environmentId}/rename': async () =>
    t.request({
      method: 'POST',
      url: `/environments/${(await createEnvironment()).environmentId}/rename`,
      token,
      json: { name: 'seed-renamed' },
    }),
  'POST /environments/{environmentId}/variables': async () =>
    t.request({
      method: 'POST',
      url: `/environments/${(await createEnvironment()).environmentId}/variables`,
      token,
      json: { key: 'NEW_KEY', value: 'v', kind: 'plain-config', exposure: 'build-time' },
    }),
  'DELETE /environments/{environmentId}/variables/{key}': async () =>
    t.request({
      method: 'DELETE',
      url: `/environments/${(await createEnvironment()).environmentId}/variables/LOG_LEVEL`,
      token,
      json: { exposure: 'runtime' },
    }),
  'GET /environments/{environmentId}/effective-precedence': async () =>
    t.request({
      method: 'GET',
      url: `/environments/${(await createEnvironment()).environmentId}/effective-precedence`,
      token,
    }),
  'GET /resources/count': async () => {
    await createResource();
    return t.request({ method: 'GET', url: '/resources/count', token });
  },
  'GET /resources': async () => {
    await createResource();
    return t.request({ method: 'GET', url: '/resources?limit=5', token });
  },
  'POST /resources': async () => {
    const { projectId, environmentId } = await createEnvironment();
    return t.request({ method: 'POST', url: '/resources', token, json: { projectId, environmentId, name: 'seed' } });
  },
  'GET /resources/{resourceId}': async () =>
    t.request({
      method: 'GET',
      url: `/resources/${await createResource()}?includeLatestDeployment=true&includeAccessSummary=true&includeProfileDiagnostics=true`,
      token,
    }),
  'DELETE /resources/{resourceId}': async () =>
    t.request({
      method: 'DELETE',
      url: `/resources/${await createResource()}`,
      token,
      json: { confirmation: { resourceSlug: 'contract-web' } },
    }),
  'POST /resources/{resourceId}/archive': async () =>
    t.request({ method: 'POST', url: `/resources/${await createResource()}/archive`, token, json: {} }),
  'POST /resources/{resourceId}/health-policy': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/health-policy`,
      token,
      json: { healthCheck: {} },
    }),
  'POST /resources/{resourceId}/health-policy/reset': async () =>
    t.request({ method: 'POST', url: `/resources/${await createResource()}/health-policy/reset`, token }),
  'POST /resources/{resourceId}/network-profile': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/network-profile`,
      token,
      json: { networkProfile: { internalPort: 1 } },
    }),
  'POST /resources/{resourceId}/access-profile': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/access-profile`,
      token,
      json: { accessProfile: {} },
    }),
  'POST /resources/{resourceId}/runtime-profile': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/runtime-profile`,
      token,
      json: { runtimeProfile: {} },
    }),
  'POST /resources/{resourceId}/source': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/source`,
      token,
      json: {
        source: { kind: 'docker-image', locator: 'docker://busybox:1.36' },
        idempotencyKey: 'configure-source-1',
      },
    }),
  'POST /resources/{resourceId}/variables': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/variables`,
      token,
      json: { key: 'NEW_KEY', value: 'v', exposure: 'build-time' },
    }),
  'GET /resources/{resourceId}/secrets': async () =>
    t.request({ method: 'GET', url: `/resources/${await createResource()}/secrets`, token }),
  'POST /resources/{resourceId}/secrets': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/secrets`,
      token,
      json: { key: 'NEW_SECRET', value: 'v' },
    }),
  'GET /resources/{resourceId}/secrets/{key}': async () =>
    t.request({ method: 'GET', url: `/resources/${await createResource()}/secrets/API_KEY`, token }),
  'POST /resources/{resourceId}/secrets/{key}': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/secrets/API_KEY`,
      token,
      json: { value: 'rotated' },
    }),
  'DELETE /resources/{resourceId}/secrets/{key}': async () =>
    t.request({ method: 'DELETE', url: `/resources/${await createResource()}/secrets/API_KEY`, token, json: {} }),
  'POST /resources/{resourceId}/variables/import': async () =>
    t.request({
      method: 'POST',
      url: `/resources/${await createResource()}/variables/import`,
      token,
      json: { content: 'PORT=1\nPORT=2\nTOKEN=x\n', exposure: 'runtime' },
    }),
  'DELETE /resources/{resourceId}/variables/{key}': async () =>
    t.request({
      method: 'DELETE',
      url: `/resources/${await createResource()}/variables/PORT`,
      token,
      json: { exposure: 'runtime' },
    }),
  'GET /resources/{resourceId}/effective-config': async () =>
    t.request({ method: 'GET', url: `/resources/${await createResource()}/effective-config`, token }),
  'GET /deployments/count': async () => {
    await createDeployment();
    return t.request({ method: 'GET', url: '/deployments/count?status=planned', token });
  },
  'GET /deployments': async () => {
    await createDeployment('failed');
    return t.request({ method: 'GET', url: '/deployments?limit=1', token });
  },
  'POST /deployments': async () => {
    const resourceId = await createResource();
    const resource = (await t.request({ method: 'GET', url: `/resources/${resourceId}`, token })).json().resource;
    const serverId = await createServer();
    await t.orm.em
      .fork()
      .getConnection()
      .execute("update servers set connection_state = 'connected' where id = ?", [serverId]);
    return t.request({
      method: 'POST',
      url: '/deployments',
      token,
      json: { projectId: resource.projectId, environmentId: resource.environmentId, resourceId, serverId },
    });
  },
  'GET /deployments/{deploymentId}': async () =>
    t.request({ method: 'GET', url: `/deployments/${(await createDeployment('failed')).id}`, token }),
  'GET /deployments/{deploymentId}/logs': async () =>
    t.request({ method: 'GET', url: `/deployments/${(await createDeployment('failed')).id}/logs`, token }),
  'GET /deployments/{deploymentId}/events': async () =>
    t.request({ method: 'GET', url: `/deployments/${(await createDeployment()).id}/events?historyLimit=10`, token }),
  'POST /deployments/{deploymentId}/cancel': async () => {
    const { id } = await createDeployment();
    return t.request({ method: 'POST', url: `/deployments/${id}/cancel`, token, json: { confirm: id } });
  },
  'POST /deployments/{deploymentId}/retry': async () =>
    t.request({ method: 'POST', url: `/deployments/${(await createDeployment('failed')).id}/retry`, token, json: {} }),
  'POST /deployments/{deploymentId}/rollback': async () => {
    const earlier = await createDeployment('succeeded');
    // A later deployment of the same resource, ended, to roll back from.
    const later = await t.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string }[]>(
        "insert into deployments (id, organization_id, project_id, environment_id, resource_id, server_id, status, trigger_kind, snapshot, sealed_env, created_at, deadline_at, updated_at, finished_at) select 'dep-contract-later-' || substr(md5(random()::text), 1, 8), organization_id, project_id, environment_id, resource_id, server_id, 'failed', 'create', snapshot, sealed_env, now() + interval '1 second', deadline_at, now(), now() from deployments where id = ? returning id",
        [earlier.id],
      );
    return t.request({
      method: 'POST',
      url: `/deployments/${later[0]!.id}/rollback`,
      token,
      json: { rollbackCandidateDeploymentId: earlier.id },
    });
  },
  'GET /deployments/plan': async () => {
    // A deployment under way blocks the plan and a source without a version tag draws a warning, so the plan's
    // reason lists have items to compare.
    const { id, resourceId } = await createDeployment();
    const d = (await t.request({ method: 'GET', url: `/deployments/${id}`, token })).json().deployment;
    const source = await t.request({
      method: 'POST',
      url: `/resources/${resourceId}/source`,
      token,
      json: { source: { kind: 'docker-image', locator: 'busybox' } },
    });
    expect(source.statusCode, source.body).toBe(200);
    const ids = { projectId: d.projectId, environmentId: d.environmentId, resourceId, serverId: d.serverId };
    return t.request({ method: 'GET', url: `/deployments/plan?${new URLSearchParams(ids)}`, token });
  },
  'GET /deployments/{deploymentId}/recovery-readiness': async () => {
    const earlier = await createDeployment('succeeded');
    // A later deployment of the same resource that failed: retryable, with the earlier one to roll back to.
    const later = await t.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string }[]>(
        "insert into deployments (id, organization_id, project_id, environment_id, resource_id, server_id, status, trigger_kind, snapshot, sealed_env, created_at, deadline_at, updated_at, finished_at) select 'dep-contract-later-' || substr(md5(random()::text), 1, 8), organization_id, project_id, environment_id, resource_id, server_id, 'failed', 'create', snapshot, sealed_env, now() + interval '1 second', deadline_at, now(), now() from deployments where id = ? returning id",
        [earlier.id],
      );
    return t.request({ method: 'GET', url: `/deployments/${later[0]!.id}/recovery-readiness`, token });
  },
  'POST /deployments/{deploymentId}/archive': async () => {
    const { id } = await createDeployment('failed');
    return t.request({ method: 'POST', url: `/deployments/${id}/archive`, token, json: { confirm: id } });
  },
  'POST /resources/{resourceId}/redeploy': async () => {
    const { resourceId } = await createDeployment('succeeded');
    return t.request({ method: 'POST', url: `/resources/${resourceId}/redeploy`, token, json: {} });
  },
  'POST /resources/{resourceId}/runtime/stop': async () =>
    t.request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/stop`, token, json: {} }),
  'POST /resources/{resourceId}/runtime/start': async () =>
    t.request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/start`, token, json: {} }),
  'POST /resources/{resourceId}/runtime/restart': async () =>
    t.request({ method: 'POST', url: `/resources/${await deployedResource()}/runtime/restart`, token, json: {} }),
  'GET /resources/{resourceId}/health': async () => {
    const resourceId = await deployedResource();
    await t.request({ method: 'POST', url: `/resources/${resourceId}/runtime/restart`, token, json: {} });
    return t.request({ method: 'GET', url: `/resources/${resourceId}/health?mode=live`, token });
  },
  'GET /deploy-tokens': async () => {
    await createDeployToken();
    return t.request({ method: 'GET', url: `/deploy-tokens?organizationId=${organization()}`, token });
  },
  'POST /deploy-tokens': () => t.request({ method: 'POST', url: '/deploy-tokens', token, json: deployTokenBody() }),
  'GET /deploy-tokens/{tokenId}': async () =>
    t.request({
      method: 'GET',
      url: `/deploy-tokens/${await createDeployToken()}?organizationId=${organization()}`,
      token,
    }),
  'POST /deploy-tokens/{tokenId}/rotate': async () => {
    const id = await createDeployToken();
    return t.request({ method: 'POST', url: `/deploy-tokens/${id}/rotate`, token, json: confirmToken(id) });
  },
  'POST /deploy-tokens/{tokenId}/revoke': async () => {
    const id = await createDeployToken();
    return t.request({ method: 'POST', url: `/deploy-tokens/${id}/revoke`, token, json: confirmToken(id) });
  },
  'GET /servers/count': async () => {
    await createServer();
    return t.request({ method: 'GET', url: '/servers/count', token });
  },
  'GET /servers': async () => {
    await createServer({ enrolled: true, deactivated: true });
    return t.request({ method: 'GET', url: '/servers?limit=1', token });
  },
  'POST /servers': () =>
    t.request({ method: 'POST', url: '/servers', token, json: { name: 'seed-create', host: 'h', providerKey: 'p' } }),
  'GET /servers/{serverId}': async () =>
    t.request({ method: 'GET', url: `/servers/${await createServer({ enrolled: true, deactivated: true })}`, token }),
  'DELETE /servers/{serverId}': async () => {
    const id = await createServer({ deactivated: true });
    return t.request({ method: 'DELETE', url: `/servers/${id}`, token, json: { confirmation: { serverId: id } } });
  },
  'POST /servers/{serverId}/rename': async () =>
    t.request({ method: 'POST', url: `/servers/${await createServer()}/rename`, token, json: { name: 'renamed' } }),
  'POST /servers/{serverId}/deactivate': async () =>
    t.request({ method: 'POST', url: `/servers/${await createServer()}/deactivate`, token, json: {} }),
  'GET /servers/{serverId}/delete-check': async () =>
    t.request({ method: 'GET', url: `/servers/${await createServer()}/delete-check`, token }),
  'POST /servers/{serverId}/credentials': async () =>
    t.request({
      method: 'POST',
      url: `/servers/${await createServer()}/credentials`,
      token,
      json: { credential: { kind: 'agent-enrollment' } },
    }),
  'POST /servers/{serverId}/connectivity-tests': async () =>
    t.request({ method: 'POST', url: `/servers/${await createServer()}/connectivity-tests`, token }),
  'POST /servers/connectivity-tests': () =>
    t.request({
      method: 'POST',
      url: '/servers/connectivity-tests',
      token,
      json: { server: { host: '127.0.0.1', providerKey: 'generic-ssh' } },
    }),
  // Stored SSH credentials (kept for later use) and default access policies.
  'GET /credentials/ssh': async () => {
    await createSshCredential();
    return t.request({ method: 'GET', url: '/credentials/ssh?limit=5', token });
  },
  'POST /credentials/ssh': async () => {
    const { pemKey } = await import('../helpers/ssh-keys.js');
    return t.request({
      method: 'POST',
      url: '/credentials/ssh',
      token,
      json: { name: 'seed-create-key', kind: 'ssh-private-key', privateKey: pemKey().privateKey },
    });
  },
  'GET /credentials/ssh/{credentialId}': async () =>
    t.request({
      method: 'GET',
      url: `/credentials/ssh/${await createSshCredential({ inUse: true })}?includeUsage=true`,
      token,
    }),
  'DELETE /credentials/ssh/{credentialId}': async () => {
    const id = await createSshCredential();
    return t.request({
      method: 'DELETE',
      url: `/credentials/ssh/${id}`,
      token,
      json: { confirmation: { credentialId: id } },
    });
  },
  'POST /credentials/ssh/{credentialId}/rotate': async () => {
    const id = await createSshCredential({ inUse: true });
    const { pemKey } = await import('../helpers/ssh-keys.js');
    return t.request({
      method: 'POST',
      url: `/credentials/ssh/${id}/rotate`,
      token,
      json: { privateKey: pemKey().privateKey, confirmation: { credentialId: id, acknowledgeServerUsage: true } },
    });
  },
  'GET /default-access-domain-policies': async () => {
    const serverId = await createServer();
    const set = await t.request({
      method: 'POST',
      url: '/default-access-domain-policies',
      token,
      json: {
        scope: { kind: 'deployment-target', serverId },
        mode: 'custom-template',
        templateRef: 't',
        providerKey: 'sslip',
      },
    });
    expect(set.statusCode, set.body).toBe(200);
    return t.request({ method: 'GET', url: '/default-access-domain-policies', token });
  },
  'POST /default-access-domain-policies': () =>
    t.request({
      method: 'POST',
      url: '/default-access-domain-policies',
      token,
      json: { scope: { kind: 'system' }, mode: 'disabled' },
    }),
  'GET /default-access-domain-policies/show': async () => {
    const serverId = await createServer();
    const scope = { kind: 'deployment-target', serverId };
    const set = await t.request({
      method: 'POST',
      url: '/default-access-domain-policies',
      token,
      json: { scope, mode: 'provider', providerKey: 'sslip' },
    });
    expect(set.statusCode, set.body).toBe(200);
    return t.request({
      method: 'GET',
      url: `/default-access-domain-policies/show?scopeKind=deployment-target&serverId=${serverId}`,
      token,
    });
  },
};

/**
 * The seed's stream endpoints (documented as a JSON stream answering `null`) are Server-Sent Events in Berth: each
 * frame's data must have the shape of the seed's event envelope.
 */
const streamScenarios: Record<string, Scenario> = {
  'GET /deployments/{deploymentId}/events/stream': async () =>
    t.request({
      method: 'GET',
      url: `/deployments/${(await createDeployment('failed')).id}/events/stream?untilTerminal=true`,
      token,
    }),
  'POST /deployments/stream': async () => {
    const { resourceId } = await createDeployment('failed');
    const resource = (await t.request({ method: 'GET', url: `/resources/${resourceId}`, token })).json().resource;
    const deployment = (await t.request({ method: 'GET', url: `/deployments?resourceId=${resourceId}`, token })).json()
      .items[0];
    // A stream that follows until the end would wait for an agent: cancel it from the side once it has begun.
    setTimeout(() => {
      void t
        .request({ method: 'GET', url: `/deployments?resourceId=${resourceId}&status=planned`, token })
        .then(async (res) => {
          for (const d of res.json().items)
            await t.request({ method: 'POST', url: `/deployments/${d.id}/cancel`, token, json: { confirm: d.id } });
        });
    }, 500);
    return t.request({
      method: 'POST',
      url: '/deployments/stream',
      token,
      json: {
        projectId: resource.projectId,
        environmentId: resource.environmentId,
        resourceId,
        serverId: deployment.serverId,
      },
    });
  },
};
const envelopeExample = (
  seedByKey.get('GET /deployments/{deploymentId}/events')!.response_example as { envelopes: unknown[] }
).envelopes[0];

describe('seed 001 contract', () => {
  it('compares shapes by key, type, nullability, first array item and schemaVersion', () => {
    const example = { id: 's', n: 0, ok: true, items: [{ v: 's' }], schemaVersion: 'x/v1', note: 's' };
    expect(shapeMismatches(example, { ...example, note: null, extra: 1 })).toEqual([]);
    expect(shapeMismatches(example, { n: '0', ok: true, items: [{ v: 1 }], schemaVersion: 'x/v2', note: 's' })).toEqual(
      [
        '$.id: missing',
        '$.n: expected number, got string',
        '$.items[0].v: expected string, got number',
        '$.schemaVersion: expected "x/v1", got "x/v2"',
      ],
    );
    expect(shapeMismatches(example, { ...example, ok: null, items: [] })).toEqual([
      '$.ok: expected boolean, got null',
      "$.items: empty, so its items cannot be compared with the seed's",
    ]);
  });

  it('has a scenario for exactly the seed endpoints listed in /openapi.json', () => {
    const implemented = seed.map((e) => `${e.method} ${e.path}`).filter((key) => documented.has(key));
    expect(implemented.length).toBeGreaterThan(0);
    const covered = [...Object.keys(scenarios), ...Object.keys(streamScenarios)];
    expect({
      implementedWithoutScenario: implemented.filter((key) => !covered.includes(key)),
      scenarioWithoutImplementedEndpoint: covered.filter((key) => !implemented.includes(key)),
    }).toEqual({ implementedWithoutScenario: [], scenarioWithoutImplementedEndpoint: [] });
  });

  it.each(Object.keys(streamScenarios))("%s streams events in the seed's envelope shape", async (key) => {
    expect(documented.has(key), `${key} is not in /openapi.json`).toBe(true);
    const res = await streamScenarios[key]!();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const data = res.body
      .split('\n\n')
      .map((frame) => /^data: (.*)$/m.exec(frame)?.[1])
      .filter((line): line is string => line !== undefined)
      .map((line) => JSON.parse(line));
    const events = data.filter((d) => d.kind === 'event');
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(shapeMismatches(envelopeExample, event)).toEqual([]);
    expect(data.at(-1)).toMatchObject({ kind: 'terminal' });
  });

  it.each(Object.keys(scenarios))("%s answers the seed's shape", async (key) => {
    const endpoint = seedByKey.get(key);
    expect(endpoint, `${key} is not in seed 001`).toBeDefined();
    expect(documented.has(key), `${key} is not in /openapi.json`).toBe(true);
    const res = await scenarios[key]!();
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(200);
    expect(res.statusCode, res.body).toBeLessThan(300);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const mismatches = shapeMismatches(endpoint!.response_example, res.json());
    expect(mismatches, `${key} differs from the seed:\n${mismatches.join('\n')}\nbody: ${res.body}`).toEqual([]);
  });
});
