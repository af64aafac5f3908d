import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';

interface Operation {
  method: string;
  /** OpenAPI path, with `{param}`. */
  path: string;
  security: unknown;
}

/** Everything served without a token; `/docs` stands for the Swagger UI and its assets under `/docs/…`. */
const expectedPublic = [
  'GET /healthz',
  'GET /readyz',
  'GET /version',
  'GET /openapi.json',
  'GET /docs',
  'GET /bootstrap/auth/status',
  'POST /bootstrap/auth/first-admin',
  'POST /auth/sessions',
  'POST /auth/sign-in/email',
  // The agent's one call before it has a certificate; the one-time token in the body authenticates it.
  'POST /agent/enrollments',
  // What the install script downloads; the enrollment token, not the agent's code, is the secret.
  'GET /install.sh',
  'GET /agent/manifest',
  'GET /agent/ca',
  'GET /agent/bundle.mjs',
  'GET /agent/node/{platformArch}',
].sort();
// Served, public, and deliberately not listed in the document they serve.
// The terminal WebSocket is an upgrade OpenAPI cannot describe; docs/monitoring.md documents its frames.
const undocumented = ['GET /openapi.json', 'GET /docs', 'GET /terminal-sessions/{sessionId}/attach'];

let t: TestApp;
let operations: Operation[];
let revokedToken: string;
let revokedDeployToken: string;

beforeAll(async () => {
  t = await buildTestApp();
  const { email, password, token, organizationId } = await t.bootstrap();
  const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { security?: unknown }>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, security: op.security })),
  );

  // A second session that worked, then was revoked by the first.
  const login = await t.request({ method: 'POST', url: '/auth/sessions', json: { email, password } });
  expect(login.statusCode, login.body).toBe(201);
  revokedToken = login.json().token;
  expect((await t.request({ method: 'GET', url: '/account/sessions', token: revokedToken })).statusCode).toBe(200);
  const revoked = await t.request({
    method: 'POST',
    url: `/account/sessions/${login.json().sessionId}/revoke`,
    token,
    json: {},
  });
  expect(revoked.statusCode, revoked.body).toBe(200);

  // A deploy token that was accepted as a credential (whatever the route allows it), then revoked.
  const created = await t.request({
    method: 'POST',
    url: '/deploy-tokens',
    token,
    json: { organizationId, displayName: 'CI', scope: { workflowCommands: ['deploy'] } },
  });
  expect(created.statusCode, created.body).toBe(201);
  revokedDeployToken = created.json().token;
  expect((await t.request({ method: 'GET', url: '/projects', token: revokedDeployToken })).statusCode).not.toBe(401);
  const tokenId = created.json().tokenId;
  const revokedDeploy = await t.request({
    method: 'POST',
    url: `/deploy-tokens/${tokenId}/revoke`,
    token,
    json: { organizationId, confirmation: { tokenId } },
  });
  expect(revokedDeploy.statusCode, revokedDeploy.body).toBe(200);
});
afterAll(async () => t?.close());

const isPublic = (op: Operation) => Array.isArray(op.security) && op.security.length === 0;
const keyOf = (op: { method: string; path: string }) => `${op.method} ${op.path}`;

/** A concrete URL for a route pattern: every `{param}`, `:param` and `*` becomes `x`. */
function urlFor(path: string): string {
  return path.replace(/\{[^}]+\}|:[A-Za-z0-9_]+|\*/g, 'x');
}

/** Every method and path in fastify's route table (HEAD left out: fastify derives it from GET). */
function routeTable(app: FastifyInstance): { method: string; path: string }[] {
  const prefixes: string[] = [];
  const routes: { method: string; path: string }[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    prefixes.length = match[1]!.length / 4;
    prefixes.push(match[2]!);
    for (const method of (match[3] ?? '').split(', ')) {
      if (method !== '' && method !== 'HEAD') routes.push({ method, path: prefixes.join('') });
    }
  }
  return routes;
}

/** The same route in OpenAPI spelling, with the Swagger UI folded into `/docs`. */
function documentedKey(route: { method: string; path: string }): string {
  const path = route.path.startsWith('/docs') ? '/docs' : route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  return `${route.method} ${path}`;
}

function send(method: string, path: string, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  const withBody = method === 'POST' || method === 'DELETE';
  return t.request({
    method: method as 'GET',
    url: urlFor(path),
    headers,
    ...(withBody ? { json: {} } : {}),
  });
}

/** Why `res` is not the 401 envelope, or undefined when it is. */
function notUnauthorized(res: LightMyRequestResponse): string | undefined {
  const requestId = res.headers['x-request-id'];
  if (res.statusCode !== 401) return `status ${res.statusCode}: ${res.body}`;
  const body = res.json() as { code?: unknown; requestId?: unknown };
  if (body.code !== 'UNAUTHORIZED') return `code ${String(body.code)}`;
  if (typeof requestId !== 'string' || requestId === '') return 'no x-request-id header';
  if (body.requestId !== requestId) return `requestId ${String(body.requestId)} is not the header's ${requestId}`;
  return undefined;
}

async function failuresWith(headers: () => Record<string, string>): Promise<string[]> {
  const protectedOps = operations.filter((op) => !isPublic(op));
  expect(protectedOps.length).toBeGreaterThan(0);
  const failures: string[] = [];
  for (const op of protectedOps) {
    const problem = notUnauthorized(await send(op.method, op.path, headers()));
    if (problem !== undefined) failures.push(`${keyOf(op)}: ${problem}`);
  }
  return failures;
}

describe('authentication on every protected operation', () => {
  const cases: [string, () => Record<string, string>][] = [
    ['without a token', () => ({})],
    ['with a garbled bearer token', () => ({ authorization: 'Bearer not-a-token' })],
    ['with a malformed Authorization header', () => ({ authorization: 'Basic abc' })],
    ['with a token whose session was revoked', () => ({ authorization: `Bearer ${revokedToken}` })],
    ['with a deploy token that was revoked', () => ({ authorization: `Bearer ${revokedDeployToken}` })],
  ];

  it.each(cases)('answers 401 UNAUTHORIZED with the request id %s', async (_name, headers) => {
    const failures = await failuresWith(headers);
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('answers 401 under the /api prefix too', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }]) {
      const res = await t.request({ method: 'GET', url: '/api/projects', headers });
      expect(notUnauthorized(res), res.body).toBeUndefined();
    }
  });
});

describe('public operations', () => {
  it('marks exactly the expected operations public in /openapi.json', () => {
    const marked = operations.filter(isPublic).map(keyOf).sort();
    expect(marked).toEqual(expectedPublic.filter((key) => !undocumented.includes(key)));
  });

  it('documents every served route except /openapi.json and /docs', () => {
    const served = [...new Set(routeTable(t.app).map(documentedKey))].sort();
    const listed = operations.map(keyOf);
    expect(served.filter((key) => !listed.includes(key))).toEqual(undocumented.sort());
    expect(listed.filter((key) => !served.includes(key))).toEqual([]);
  });

  it('serves exactly the expected routes without a token (probing the whole route table)', async () => {
    const routes = routeTable(t.app);
    expect(routes.length).toBeGreaterThan(expectedPublic.length);
    const open = new Set<string>();
    for (const route of routes) {
      const res = await send(route.method, route.path, {});
      expect(res.statusCode, `${route.method} ${route.path}: ${res.body}`).toBeLessThan(500);
      if (res.statusCode !== 401) open.add(documentedKey(route));
    }
    expect([...open].sort()).toEqual(expectedPublic);
  });

  it('answers the public documentation routes without a token', async () => {
    for (const url of ['/openapi.json', '/docs', '/api/openapi.json']) {
      const res = await t.request({ method: 'GET', url });
      expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(200);
    }
  });
});
