import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { seedByKey, shapeMismatches } from './seed/shape.js';

/**
 * Issue 12, item 6: what the reference API's SDK and CLI send, and what they still tripped on. The CLI calls every
 * route under `/api`; its handshake is `GET /version` then `GET /organizations/current-context` with whatever
 * credential the profile holds (a deploy token in CI); `auth bootstrap-first-admin` sends password, organizationName,
 * organizationSlug and idempotencyKey; `project create` may name the organization. Every refusal answers in the
 * envelope of seed 000, with the request id.
 */
let t: TestApp;
let token: string;
let organizationId: string;
const admin = { email: 'grace@example.com', displayName: 'Grace Hopper' };
const password = 'a chosen passphrase for the CLI';

const api = (method: 'GET' | 'POST' | 'DELETE', url: string, json?: unknown, bearer = token) =>
  t.request({ method, url: `/api${url}`, token: bearer, ...(json === undefined ? {} : { json }) });

/** The seed 000 envelope with `code`, the request id of the header, and (when given) `field`. */
function expectEnvelope(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(body).toMatchObject({ code, category: 'user', retryable: false });
  expect(typeof body.message).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  expect(body.requestId).toMatch(/\S/);
  if (field !== undefined) expect(body.field).toBe(field);
}

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());

describe('auth bootstrap-first-admin, as the CLI sends it', () => {
  const body = {
    ...admin,
    password,
    organizationName: 'Hopper Labs',
    organizationSlug: 'hopper-labs',
    idempotencyKey: 'cli-bootstrap-7f3a',
  };

  it('refuses a too short password with VALIDATION_ERROR naming it, with a hint, and creates nothing', async () => {
    const res = await api('POST', '/bootstrap/auth/first-admin', { ...body, password: 'short-pass' });
    expectEnvelope(res, 400, 'VALIDATION_ERROR', 'password');
    expect(res.json().hint).toMatch(/12 characters/);
    expect(res.body).not.toContain('short-pass');
    expect((await api('GET', '/bootstrap/auth/status')).json().bootstrapRequired).toBe(true);
  });

  it('refuses an organizationSlug that is not a slug', async () => {
    const res = await api('POST', '/bootstrap/auth/first-admin', { ...body, organizationSlug: 'Hopper Labs' });
    expectEnvelope(res, 400, 'VALIDATION_ERROR', 'organizationSlug');
    expect(res.json().hint).toContain('lower-case');
  });

  it('creates the admin and organization with the chosen password, which is neither echoed nor logged', async () => {
    const res = await api('POST', '/bootstrap/auth/first-admin', body);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ created: true, email: admin.email, organizationSlug: 'hopper-labs' });
    expect(res.json()).not.toHaveProperty('generatedPassword');
    expect(res.body).not.toContain(password);
    organizationId = res.json().organizationId;

    const login = await api('POST', '/auth/sessions', { email: admin.email, password });
    expect(login.statusCode, login.body).toBe(201);
    token = login.json().token;
    expect(t.logs.join('')).not.toContain(password);
  });

  it('answers the same key and body with the first answer, and another body under that key with 409', async () => {
    const first = await api('POST', '/bootstrap/auth/first-admin', body);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ organizationId, email: admin.email, organizationSlug: 'hopper-labs' });
    expectEnvelope(
      await api('POST', '/bootstrap/auth/first-admin', { ...body, organizationSlug: 'other' }),
      409,
      'IDEMPOTENCY_KEY_REUSED',
      'idempotencyKey',
    );
    const { idempotencyKey: _key, ...withoutKey } = body;
    expectEnvelope(await api('POST', '/bootstrap/auth/first-admin', withoutKey), 409, 'CONFLICT');
  });
});

describe('the CLI handshake with a deploy token', () => {
  it('reads /version, then current-context limited to the token, in the seed shape', async () => {
    const created = await api('POST', '/deploy-tokens', {
      organizationId,
      displayName: 'GitHub Actions',
      scope: { workflowCommands: ['deploy'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const ci = created.json().token as string;

    expect((await api('GET', '/version', undefined, ci)).statusCode).toBe(200);
    const res = await api('GET', '/organizations/current-context', undefined, ci);
    expect(res.statusCode, res.body).toBe(200);
    const context = res.json();
    const seed = seedByKey.get('GET /organizations/current-context')!.response_example;
    expect(shapeMismatches(seed, context)).toEqual([]);
    // What the CLI keeps from it: the current organization.
    expect(context.currentOrganization).toEqual({
      organizationId,
      name: 'Hopper Labs',
      slug: 'hopper-labs',
      role: 'deploy-token',
    });
    expect(context.organizations).toEqual([context.currentOrganization]);
    expect(context.user).toEqual({ userId: null, email: null, displayName: 'GitHub Actions', avatarUrl: null });
    expect(context.actor).toMatchObject({ kind: 'deploy-token', id: created.json().tokenId });
    expect(Object.values(context.permissions)).not.toContain(true);
    expect(res.body).not.toContain(admin.email);
  });

  it('answers the same route for a user as before, with the actor added', async () => {
    const res = await api('GET', '/organizations/current-context');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user).toMatchObject({ email: admin.email, displayName: admin.displayName });
    expect(res.json().actor).toEqual({ kind: 'user', id: res.json().user.userId });
    expect(res.json().currentOrganization.role).toBe('owner');
  });
});

describe('project create naming the organization', () => {
  it('accepts the current organization', async () => {
    const res = await api('POST', '/projects', { name: 'From the CLI', organizationId });
    expect(res.statusCode, res.body).toBe(201);
    expect((await api('GET', `/projects/${res.json().id}`)).json().organizationId).toBe(organizationId);
  });

  it('answers 404 NOT_FOUND naming organizationId for any other organization', async () => {
    const res = await api('POST', '/projects', { name: 'Elsewhere', organizationId: 'org-0000000000aaaaaaaaaaaaaaaa' });
    expectEnvelope(res, 404, 'NOT_FOUND', 'organizationId');
  });
});

describe('server workload roles', () => {
  it('stores them and returns them in the read models', async () => {
    const created = await api('POST', '/servers', {
      name: 'builder',
      host: '10.1.0.5',
      providerKey: 'generic-ssh',
      workloadRoles: ['artifact-builder', 'deployment-runtime'],
    });
    expect(created.statusCode, created.body).toBe(201);
    const shown = await api('GET', `/servers/${created.json().id}`);
    expect(shown.json().server.workloadRoles).toEqual(['deployment-runtime', 'artifact-builder']);
  });

  it('refuses an unknown or repeated role', async () => {
    for (const workloadRoles of [['edge'], ['sandbox-worker', 'sandbox-worker']]) {
      const res = await api('POST', '/servers', {
        name: 'x',
        host: '10.1.0.6',
        providerKey: 'generic-ssh',
        workloadRoles,
      });
      expectEnvelope(res, 400, 'VALIDATION_ERROR');
      expect(res.json().field).toMatch(/^workloadRoles/);
    }
  });
});

describe('routes that do not exist', () => {
  it.each([
    ['GET', '/api/no/such/route'],
    ['GET', '/no/such/route'],
    ['GET', '/api/deployments/stale'],
    ['GET', '/storage-volumes/count'],
    ['GET', '/api/storage-volumes/count'],
    ['POST', '/api/deployments/prune'],
    ['DELETE', '/api/projects/count'],
  ] as const)('answers %s %s with route-not-found naming the path as called', async (method, url) => {
    // A DELETE body that its route would accept, so only the path decides.
    const json = method === 'DELETE' ? { confirmation: { projectId: 'count' } } : method === 'POST' ? {} : undefined;
    const res = await t.request({ method, url: `${url}?limit=5`, token, ...(json === undefined ? {} : { json }) });
    expectEnvelope(res, 404, 'NOT_FOUND');
    expect(res.json().message).toBe(`No route ${method} ${url}.`);
    expect(res.json()).not.toHaveProperty('field');
  });

  it('still answers an id of the right kind that does not exist as that object not found', async () => {
    const res = await api('GET', '/deployments/dep-0000000000aaaaaaaaaaaaaaaa');
    expectEnvelope(res, 404, 'NOT_FOUND', 'deploymentId');
  });

  it('answers redeploy of an unknown resource 404 NOT_FOUND like its siblings', async () => {
    const res = await api('POST', '/resources/res-0000000000aaaaaaaaaaaaaaaa/redeploy', {});
    expectEnvelope(res, 404, 'NOT_FOUND', 'resourceId');
    const sibling = await api('GET', '/resources/res-0000000000aaaaaaaaaaaaaaaa');
    expectEnvelope(sibling, 404, 'NOT_FOUND', 'resourceId');
  });

  it('answers a path parameter longer than its limit in the envelope, naming it', async () => {
    const res = await api('GET', `/projects/prj-${'a'.repeat(200)}`);
    expectEnvelope(res, 400, 'VALIDATION_ERROR', 'projectId');
  });

  it('answers a path parameter over the router limit in the envelope, with the request id', async () => {
    const res = await api('GET', `/projects/prj-${'a'.repeat(20_000)}`);
    expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(res.json().message).toContain('longer than');
  });

  it('answers a malformed percent-escape in the envelope', async () => {
    const res = await api('GET', '/projects/%zz');
    expectEnvelope(res, 400, 'VALIDATION_ERROR');
  });
});
