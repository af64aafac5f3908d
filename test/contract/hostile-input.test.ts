import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';

let t: TestApp;
let token: string;
let projectId: string;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
  projectId = (await t.request({ method: 'POST', url: '/projects', token, json: { name: 'Target' } })).json().id;
});
afterAll(async () => t?.close());

describe('input the database cannot store', () => {
  it.each([
    ['GET', '/projects/%00', undefined, 'projectId'],
    ['GET', '/projects/a%00b/delete-check', undefined, 'projectId'],
    ['POST', '/account/sessions/%00/revoke', {}, 'sessionId'],
    ['POST', '/projects', { name: 'a\u0000b' }, 'name'],
    ['POST', '/projects/{id}/description', { description: '\u0000' }, 'description'],
    ['GET', '/projects?lifecycleStatus=%00', undefined, 'lifecycleStatus'],
  ] as const)(
    'refuses a NUL character in %s %s with VALIDATION_ERROR naming the field',
    async (method, url, json, field) => {
      const res = await t.request({
        method,
        url: url.replace('{id}', projectId),
        token,
        ...(json === undefined ? {} : { json }),
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field });
    },
  );

  it('changes nothing when it refuses such input', async () => {
    const res = await t.request({ method: 'GET', url: `/projects/${projectId}`, token });
    expect(res.json()).toMatchObject({ name: 'Target', description: null });
  });
});

describe('the bare /api root', () => {
  it('treats /api?x=1 as the root, an unknown route', async () => {
    const res = await t.request({ method: 'GET', url: '/api?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toBe('No route GET /api.');
  });
});

describe('requests Node refuses before the router', () => {
  it('answers a request head over 16 KiB (a path parameter of 20,000 characters) in the envelope with 431', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/api/projects/${'p'.repeat(20_000)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(431);
    const body = (await res.json()) as { requestId: string };
    expect(body).toMatchObject({ code: 'VALIDATION_ERROR', category: 'user', retryable: false });
    expect(body.requestId).toMatch(/^req-/);
    expect(res.headers.get('x-request-id')).toBe(body.requestId);
  });
});
