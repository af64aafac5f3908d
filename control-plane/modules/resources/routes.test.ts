import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';

let t: TestApp;
let token: string;
let projectId: string;
let counter = 0;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
  projectId = (await t.request({ method: 'POST', url: '/projects', token, json: { name: 'Apps' } })).json().id;
});
afterAll(async () => t?.close());

async function post(url: string, json: unknown) {
  return t.request({ method: 'POST', url, token, json });
}

async function createEnvironment(): Promise<string> {
  counter += 1;
  const res = await post('/environments', { projectId, name: `env ${counter}`, kind: 'production' });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function createResource(
  environmentId: string,
  extra: Record<string, unknown> = {},
  name = 'Web',
): Promise<string> {
  const res = await post('/resources', { projectId, environmentId, name, ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const show = async (id: string, query = '') =>
  (await t.request({ method: 'GET', url: `/resources/${id}${query}`, token })).json();
const effective = async (id: string) =>
  (await t.request({ method: 'GET', url: `/resources/${id}/effective-config`, token })).json();

describe('resources', () => {
  it('creates a resource with a slug derived from its name, kept across environments and unique in one', async () => {
    const env = await createEnvironment();
    const first = await createResource(env, {}, 'Web Console');
    const second = await createResource(env, {}, 'Web  Console!');
    expect((await show(first)).resource).toMatchObject({
      slug: 'web-console',
      kind: 'application',
      environmentId: env,
    });
    expect((await show(second)).resource.slug).toBe('web-console-2');
    const dup = await post('/resources', { projectId, environmentId: env, name: 'WEB CONSOLE' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'CONFLICT', field: 'name' });
  });

  it('configures an image source, port, runtime, health and access profiles, and shows them', async () => {
    const env = await createEnvironment();
    const id = await createResource(env);
    const calls = [
      post(`/resources/${id}/source`, { source: { kind: 'docker-image', locator: 'docker://ghcr.io/acme/web:2.3.1' } }),
      post(`/resources/${id}/network-profile`, { networkProfile: { internalPort: 8080 } }),
      post(`/resources/${id}/runtime-profile`, {
        runtimeProfile: {
          command: ['/bin/httpd'],
          arguments: ['-f', '-p', '8080'],
          cpuLimit: 0.5,
          memoryLimitMb: 256,
          restartPolicy: 'always',
        },
      }),
      post(`/resources/${id}/health-policy`, {
        healthCheck: { intervalSeconds: 10, timeoutSeconds: 2, retries: 5, http: { path: '/healthz' } },
      }),
      post(`/resources/${id}/access-profile`, { accessProfile: { pathPrefix: '/app' } }),
    ];
    for (const res of await Promise.all(calls)) expect(res.statusCode, res.body).toBe(200);
    const shown = await show(id);
    expect(shown.source).toMatchObject({
      kind: 'docker-image',
      locator: 'ghcr.io/acme/web:2.3.1',
      imageName: 'ghcr.io/acme/web',
      imageTag: '2.3.1',
      imageDigest: null,
    });
    expect(shown.networkProfile).toEqual({
      internalPort: 8080,
      upstreamProtocol: 'http',
      exposureMode: 'reverse-proxy',
      targetServiceName: null,
      hostPort: null,
    });
    expect(shown.runtimeProfile).toMatchObject({
      command: ['/bin/httpd'],
      arguments: ['-f', '-p', '8080'],
      cpuLimit: 0.5,
      memoryLimitMb: 256,
      restartPolicy: 'always',
    });
    expect(shown.healthPolicy).toMatchObject({
      configured: true,
      type: 'http',
      intervalSeconds: 10,
      timeoutSeconds: 2,
      retries: 5,
      http: { path: '/healthz', method: 'GET', expectedStatusCode: 200 },
    });
    expect(shown.accessProfile).toEqual({ generatedAccessMode: 'inherit', pathPrefix: '/app' });
    const reset = await post(`/resources/${id}/health-policy/reset`, undefined);
    expect(reset.statusCode, reset.body).toBe(200);
    expect((await show(id)).healthPolicy).toMatchObject({ configured: false, intervalSeconds: 5, http: { path: '/' } });
  });

  it('reports a missing source as a diagnostic that blocks deployment', async () => {
    const id = await createResource(await createEnvironment());
    const shown = await show(id, '?includeProfileDiagnostics=true');
    expect(
      shown.diagnostics.map((d: { code: string; blocksDeploymentAdmission: boolean }) => [
        d.code,
        d.blocksDeploymentAdmission,
      ]),
    ).toEqual([
      ['resource_source_missing', true],
      ['resource_network_profile_missing', false],
    ]);
    expect((await show(id)).diagnostics).toEqual([]);
  });

  it.each([
    [
      'an unparsable image reference',
      'source',
      { source: { kind: 'docker-image', locator: 'Not An Image' } },
      'source.locator',
    ],
    [
      'an unsupported source kind',
      'source',
      { source: { kind: 'remote-git', locator: 'https://example.com/x.git' } },
      'source.kind',
    ],
    [
      'a port above 65535',
      'network-profile',
      { networkProfile: { internalPort: 70000 } },
      'networkProfile.internalPort',
    ],
    ['a port of 0', 'network-profile', { networkProfile: { internalPort: 0 } }, 'networkProfile.internalPort'],
    [
      'a host port without direct-port exposure',
      'network-profile',
      { networkProfile: { internalPort: 80, hostPort: 8080 } },
      'networkProfile.hostPort',
    ],
    [
      'a timeout longer than the interval',
      'health-policy',
      { healthCheck: { intervalSeconds: 5, timeoutSeconds: 10 } },
      'healthCheck.timeoutSeconds',
    ],
    [
      'a health path without a leading slash',
      'health-policy',
      { healthCheck: { http: { path: 'health' } } },
      'healthCheck.http.path',
    ],
    [
      'an unsupported runtime strategy',
      'runtime-profile',
      { runtimeProfile: { strategy: 'dockerfile' } },
      'runtimeProfile.strategy',
    ],
    ['an unknown profile field', 'runtime-profile', { runtimeProfile: { cpus: 2 } }, 'runtimeProfile.cpus'],
  ])('refuses %s with VALIDATION_ERROR naming the field, and changes nothing', async (_name, path, body, field) => {
    const id = await createResource(await createEnvironment());
    const before = await show(id);
    const res = await post(`/resources/${id}/${path}`, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field });
    expect(res.json().hint ?? res.json().message).toBeTruthy();
    const after = await show(id);
    expect({ ...after, generatedAt: null }).toEqual({ ...before, generatedAt: null });
  });

  it('refuses a resource for an unknown environment, an environment of another project, and an archived project', async () => {
    const unknown = await post('/resources', { projectId, environmentId: 'env-nope', name: 'x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().field).toBe('environmentId');
    const other = (await post('/projects', { name: `Other ${Math.random()}` })).json().id;
    const mismatch = await post('/resources', {
      projectId: other,
      environmentId: await createEnvironment(),
      name: 'x',
    });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().field).toBe('environmentId');
    const env = await createEnvironment();
    await post(`/projects/${projectId}/archive`, {});
    try {
      const archived = await post('/resources', { projectId, environmentId: env, name: 'x' });
      expect(archived.statusCode).toBe(409);
      expect(archived.json().hint).toContain('/restore');
    } finally {
      await post(`/projects/${projectId}/restore`, undefined);
    }
  });

  it('creates a resource with every profile in one call, or not at all when one is invalid', async () => {
    const env = await createEnvironment();
    const bad = await post('/resources', {
      projectId,
      environmentId: env,
      name: 'All at once',
      source: { kind: 'docker-image', locator: 'busybox:1.36' },
      healthCheck: { intervalSeconds: 1, timeoutSeconds: 2 },
    });
    expect(bad.statusCode).toBe(400);
    const count = await t.request({ method: 'GET', url: `/resources/count?environmentId=${env}`, token });
    expect(count.json().count).toBe(0);
    const id = await createResource(env, {
      source: { kind: 'docker-image', locator: 'busybox:1.36' },
      networkProfile: { internalPort: 8080 },
      healthCheck: { type: 'tcp' },
    });
    expect(await show(id)).toMatchObject({
      source: { imageTag: '1.36' },
      healthPolicy: { type: 'tcp', http: null, tcp: { port: null } },
    });
  });

  it('deletes a resource only when the confirmation repeats its slug', async () => {
    const id = await createResource(await createEnvironment(), {}, 'Doomed App');
    const wrong = await t.request({
      method: 'DELETE',
      url: `/resources/${id}`,
      token,
      json: { confirmation: { resourceSlug: id } },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'confirmation.resourceSlug' });
    expect(wrong.json().hint).toContain('doomed-app');
    const ok = await t.request({
      method: 'DELETE',
      url: `/resources/${id}`,
      token,
      json: { confirmation: { resourceSlug: 'doomed-app' } },
    });
    expect(ok.json()).toEqual({ id });
    expect((await t.request({ method: 'GET', url: `/resources/${id}`, token })).statusCode).toBe(404);
  });

  it('archives a resource: readable, and refusing every change', async () => {
    const id = await createResource(await createEnvironment());
    await post(`/resources/${id}/archive`, { reason: 'sunset' });
    expect((await show(id)).lifecycle).toMatchObject({ status: 'archived', archiveReason: 'sunset' });
    const res = await post(`/resources/${id}/network-profile`, { networkProfile: { internalPort: 80 } });
    expect(res.statusCode).toBe(409);
  });

  it('a locked environment refuses every resource change with a hint naming the unlock call', async () => {
    const env = await createEnvironment();
    const id = await createResource(env);
    await post(`/environments/${env}/lock`, {});
    const attempts = [
      post('/resources', { projectId, environmentId: env, name: 'New' }),
      post(`/resources/${id}/network-profile`, { networkProfile: { internalPort: 80 } }),
      post(`/resources/${id}/variables`, { key: 'A', value: '1' }),
      post(`/resources/${id}/secrets`, { key: 'S', value: '1' }),
      post(`/resources/${id}/variables/import`, { content: 'A=1' }),
      t.request({ method: 'DELETE', url: `/resources/${id}`, token, json: { confirmation: { resourceSlug: 'web' } } }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json().hint).toContain(`POST /environments/${env}/unlock`);
    }
    expect((await effective(id)).ownedEntries).toEqual([]);
  });
});

describe('resource variables and secrets', () => {
  it('never returns a secret value: list, show, effective config and create answers are masked', async () => {
    const id = await createResource(await createEnvironment());
    const created = await post(`/resources/${id}/secrets`, { key: 'STRIPE_KEY', value: 'sk_live_plaintext_1' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toEqual({ resourceId: id, key: 'STRIPE_KEY', exposure: 'runtime' });
    const list = await t.request({ method: 'GET', url: `/resources/${id}/secrets`, token });
    const one = await t.request({ method: 'GET', url: `/resources/${id}/secrets/STRIPE_KEY`, token });
    expect(list.json().items).toEqual([
      expect.objectContaining({ key: 'STRIPE_KEY', value: '****', isSecret: true, kind: 'secret', scope: 'resource' }),
    ]);
    expect(one.json().secret).toMatchObject({ resourceId: id, key: 'STRIPE_KEY', value: '****' });
    for (const body of [list.body, one.body, JSON.stringify(await effective(id)), JSON.stringify(await show(id))]) {
      expect(body).not.toContain('sk_live_plaintext_1');
    }
  });

  it('creates, rotates and deletes a secret, with CONFLICT and NOT_FOUND where they do not apply', async () => {
    const id = await createResource(await createEnvironment());
    await post(`/resources/${id}/secrets`, { key: 'S', value: 'one' });
    const again = await post(`/resources/${id}/secrets`, { key: 'S', value: 'two' });
    expect(again.statusCode).toBe(409);
    expect(again.json().hint).toContain(`/resources/${id}/secrets/S`);
    const rotated = await post(`/resources/${id}/secrets/S`, { value: 'three' });
    expect(rotated.json()).toEqual({ resourceId: id, key: 'S', exposure: 'runtime' });
    const missing = await post(`/resources/${id}/secrets/NOPE`, { value: 'x' });
    expect(missing.statusCode).toBe(404);
    const deleted = await t.request({ method: 'DELETE', url: `/resources/${id}/secrets/S`, token, json: {} });
    expect(deleted.statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url: `/resources/${id}/secrets/S`, token })).statusCode).toBe(404);
  });

  it('imports .env text: credential-like names become secrets, duplicates keep the last value, existing entries are reported', async () => {
    const env = await createEnvironment();
    const id = await createResource(env);
    await post(`/environments/${env}/variables`, { key: 'LOG_LEVEL', value: 'warn' });
    await post(`/resources/${id}/variables`, { key: 'PORT', value: '3000' });
    const content = [
      '# pasted from Heroku',
      'PORT=8080',
      'LOG_LEVEL=debug',
      'export DATABASE_URL="postgres://app:hunter2@db:5432/app"',
      'API_TOKEN=abc123',
      'PORT=9090',
    ].join('\n');
    const res = await post(`/resources/${id}/variables/import`, { content });
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json();
    expect(result.importedEntries).toEqual([
      expect.objectContaining({ key: 'PORT', value: '9090', isSecret: false, action: 'updated', sourceLine: 6 }),
      expect.objectContaining({ key: 'LOG_LEVEL', value: 'debug', isSecret: false, action: 'created', sourceLine: 3 }),
      expect.objectContaining({ key: 'DATABASE_URL', value: '****', isSecret: true, kind: 'secret', sourceLine: 4 }),
      expect.objectContaining({ key: 'API_TOKEN', value: '****', isSecret: true, sourceLine: 5 }),
    ]);
    expect(result.duplicateOverrides).toEqual([
      { key: 'PORT', exposure: 'runtime', firstLine: 2, lastLine: 6, rule: 'last-wins' },
    ]);
    expect(result.existingOverrides).toEqual([
      { key: 'PORT', exposure: 'runtime', previousScope: 'resource', rule: 'resource-entry-replaced' },
      { key: 'LOG_LEVEL', exposure: 'runtime', previousScope: 'environment', rule: 'environment-entry-overridden' },
    ]);
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('abc123');
  });

  it('imports nothing when any line is malformed, and reports every bad line by number', async () => {
    const id = await createResource(await createEnvironment());
    const res = await post(`/resources/${id}/variables/import`, {
      content: 'GOOD=1\n1BAD=2\nno equals here\nALSO_GOOD=3\nQ="open',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'content' });
    const errors: string[] = res.json().details.errors;
    expect(errors.map((e) => e.split(':')[0])).toEqual(['line 2', 'line 3', 'line 5']);
    expect((await effective(id)).ownedEntries).toEqual([]);
  });

  it('unsets a resource variable and answers NOT_FOUND for a missing one', async () => {
    const id = await createResource(await createEnvironment());
    await post(`/resources/${id}/variables`, { key: 'A', value: '1', exposure: 'build-time' });
    const wrongExposure = await t.request({
      method: 'DELETE',
      url: `/resources/${id}/variables/A`,
      token,
      json: { exposure: 'runtime' },
    });
    expect(wrongExposure.statusCode).toBe(404);
    const ok = await t.request({
      method: 'DELETE',
      url: `/resources/${id}/variables/A`,
      token,
      json: { exposure: 'build-time' },
    });
    expect(ok.statusCode).toBe(200);
    expect((await effective(id)).ownedEntries).toEqual([]);
  });

  // The precedence rule of docs/configuration.md, as a table: which layers define KEY, and who wins.
  it.each([
    { layers: ['environment'], winner: 'environment', value: 'env' },
    { layers: ['resource'], winner: 'resource', value: 'res' },
    { layers: ['environment', 'resource'], winner: 'resource', value: 'res' },
    { layers: ['environment', 'resource-secret'], winner: 'resource-secret', value: '****' },
    { layers: ['resource', 'resource-secret'], winner: 'resource-secret', value: '****' },
    { layers: ['environment', 'resource', 'resource-secret'], winner: 'resource-secret', value: '****' },
    { layers: ['environment-secret', 'resource'], winner: 'resource', value: 'res' },
  ])('precedence: $layers → $winner', async ({ layers, winner, value }) => {
    const env = await createEnvironment();
    const id = await createResource(env);
    for (const layer of layers) {
      if (layer === 'environment') await post(`/environments/${env}/variables`, { key: 'KEY', value: 'env' });
      if (layer === 'environment-secret')
        await post(`/environments/${env}/variables`, { key: 'KEY', value: 'env-secret', kind: 'secret' });
      if (layer === 'resource') await post(`/resources/${id}/variables`, { key: 'KEY', value: 'res' });
      if (layer === 'resource-secret') await post(`/resources/${id}/secrets`, { key: 'KEY', value: 'res-secret' });
    }
    const view = await effective(id);
    expect(view.precedence).toEqual(['environment', 'resource', 'resource-secret']);
    expect(view.effectiveEntries).toEqual([
      expect.objectContaining({ key: 'KEY', value, scope: winner === 'environment' ? 'environment' : 'resource' }),
    ]);
    expect(view.overrides).toHaveLength(layers.length - 1);
    for (const o of view.overrides) expect(o.effectiveLayer).toBe(winner);
  });

  it('applies concurrent writes to one resource without losing any (row lock on the resource)', async () => {
    const id = await createResource(await createEnvironment());
    const writes = [
      ...Array.from({ length: 15 }, (_, i) => post(`/resources/${id}/variables`, { key: `V${i}`, value: `${i}` })),
      ...Array.from({ length: 5 }, (_, i) => post(`/resources/${id}/secrets`, { key: `S${i}`, value: `s${i}` })),
      post(`/resources/${id}/network-profile`, { networkProfile: { internalPort: 8080 } }),
      post(`/resources/${id}/source`, { source: { kind: 'docker-image', locator: 'busybox:1.36' } }),
      post(`/resources/${id}/health-policy`, { healthCheck: { type: 'tcp' } }),
    ];
    expect((await Promise.all(writes)).map((r) => r.statusCode)).toEqual([
      ...Array(15).fill(200),
      ...Array(5).fill(201),
      200,
      200,
      200,
    ]);
    expect((await effective(id)).ownedEntries).toHaveLength(20);
    expect(await show(id)).toMatchObject({
      networkProfile: { internalPort: 8080 },
      source: { imageTag: '1.36' },
      healthPolicy: { type: 'tcp' },
    });
  });
});
