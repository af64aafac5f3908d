import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';

const envelopeKeys = ['code', 'message', 'field', 'hint', 'requestId', 'category', 'retryable', 'details'];
const requiredEnvelopeKeys = ['code', 'message', 'requestId', 'category', 'retryable'];
const generatedRequestId = /^req-[0-9a-z]{26}$/;

let t: TestApp;
let token: string;
/** Every response this file received, so the last test can prove none was a 5xx. */
const seen: { what: string; res: LightMyRequestResponse }[] = [];
let nameCounter = 0;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
});
afterAll(async () => t?.close());

/** `t.request`, recorded; a 5xx fails the calling test at once. */
async function send(options: InjectOptions & { token?: string; json?: unknown }): Promise<LightMyRequestResponse> {
  const res = await t.request(options);
  const what = `${options.method ?? 'GET'} ${String(options.url)}`;
  seen.push({ what, res });
  expect(res.statusCode, `${what} answered ${res.statusCode}: ${res.body.slice(0, 500)}`).toBeLessThan(500);
  return res;
}

const uniqueName = (label: string) => `${label} ${++nameCounter}`;
const createWith = (json: unknown) => send({ method: 'POST', url: '/projects', token, json });

/** Asserts `res` is an error envelope with `status` and `code` (and `field`, when given) whose requestId is the header's. */
function expectEnvelope(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(body.code).toBe(code);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  if (field !== undefined) expect(body.field).toBe(field);
}

/** Envelope keys that are missing or not allowed, for one error body. */
function envelopeProblems(body: Record<string, unknown>): string[] {
  return [
    ...requiredEnvelopeKeys.filter((key) => !(key in body)).map((key) => `missing ${key}`),
    ...Object.keys(body)
      .filter((key) => !envelopeKeys.includes(key))
      .map((key) => `unexpected ${key}`),
  ];
}

async function projectNames(): Promise<string[]> {
  const res = await send({ method: 'GET', url: '/projects?limit=500', token });
  return res.json().items.map((p: { name: string }) => p.name);
}

describe('request ids', () => {
  it('puts x-request-id on 2xx, 4xx and unknown-route answers, and the envelope repeats it', async () => {
    const answers = [
      await send({ method: 'GET', url: '/projects', token }),
      await send({ method: 'GET', url: '/healthz' }),
      await send({ method: 'GET', url: '/projects' }),
      await send({ method: 'GET', url: '/projects?limit=0', token }),
      await send({ method: 'GET', url: '/no/such/route', token }),
    ];
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 401, 400, 404]);
    for (const res of answers) {
      expect(res.headers['x-request-id']).toMatch(generatedRequestId);
      if (res.statusCode >= 400) expect(res.json().requestId).toBe(res.headers['x-request-id']);
    }
  });

  it("echoes a client's acceptable x-request-id in the header and the envelope", async () => {
    const headers = { 'x-request-id': 'my-trace-123' };
    const ok = await send({ method: 'GET', url: '/projects', token, headers });
    expect(ok.headers['x-request-id']).toBe('my-trace-123');
    const failed = await send({ method: 'GET', url: '/projects', headers });
    expectEnvelope(failed, 401, 'UNAUTHORIZED');
    expect(failed.json().requestId).toBe('my-trace-123');
  });

  it.each([
    ['300 characters long', 'a'.repeat(300)],
    ['with spaces', 'my trace 123'],
  ])('replaces an x-request-id %s by a generated req-… id', async (_name, sent) => {
    const res = await send({ method: 'GET', url: '/projects', headers: { 'x-request-id': sent } });
    expect(res.headers['x-request-id']).toMatch(generatedRequestId);
    expect(res.json().requestId).toBe(res.headers['x-request-id']);
  });
});

describe('request errors', () => {
  it('answers an unknown route with 404 NOT_FOUND, with or without a token', async () => {
    expectEnvelope(await send({ method: 'GET', url: '/no/such/route', token }), 404, 'NOT_FOUND');
    expectEnvelope(await send({ method: 'POST', url: '/no/such/route', json: {} }), 404, 'NOT_FOUND');
  });

  it('refuses malformed JSON with 400 VALIDATION_ERROR', async () => {
    const res = await send({
      method: 'POST',
      url: '/projects',
      token,
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expectEnvelope(res, 400, 'VALIDATION_ERROR');
  });

  it('refuses a text/plain body with 415 VALIDATION_ERROR', async () => {
    const res = await send({
      method: 'POST',
      url: '/projects',
      token,
      headers: { 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expectEnvelope(res, 415, 'VALIDATION_ERROR');
  });

  it('refuses a 2 MB JSON body with 413 VALIDATION_ERROR and creates nothing', async () => {
    const name = uniqueName('Too Big');
    const res = await createWith({ name, description: 'x'.repeat(2 * 1024 * 1024) });
    expectEnvelope(res, 413, 'VALIDATION_ERROR');
    expect(await projectNames()).not.toContain(name);
  });
});

describe('list limits and query parameters', () => {
  it.each(['0', '501', 'abc', '-1', '1.5'])('refuses limit=%s with 400 naming limit', async (limit) => {
    expectEnvelope(
      await send({ method: 'GET', url: `/projects?limit=${limit}`, token }),
      400,
      'VALIDATION_ERROR',
      'limit',
    );
  });

  it.each(['1', '500'])('accepts limit=%s', async (limit) => {
    const res = await send({ method: 'GET', url: `/projects?limit=${limit}`, token });
    expect(res.statusCode, res.body).toBe(200);
    expect(Array.isArray(res.json().items)).toBe(true);
  });

  it('ignores unknown query parameters', async () => {
    const res = await send({ method: 'GET', url: '/projects?offset=5&foo=bar', token });
    expect(res.statusCode, res.body).toBe(200);
  });
});

describe('request bodies', () => {
  it('refuses an unknown body field and names it', async () => {
    expectEnvelope(await createWith({ name: 'x', colour: 'red' }), 400, 'VALIDATION_ERROR', 'colour');
  });

  it('refuses a missing name and names it', async () => {
    expectEnvelope(await createWith({ description: 'nameless' }), 400, 'VALIDATION_ERROR', 'name');
  });

  it.each([
    ['empty', ''],
    ['whitespace-only', '   '],
    ['101 characters long', 'n'.repeat(101)],
  ])('refuses a name that is %s', async (_what, name) => {
    expectEnvelope(await createWith({ name }), 400, 'VALIDATION_ERROR', 'name');
  });

  it('accepts a name of 100 characters', async () => {
    const name = `${uniqueName('Long')} `.padEnd(100, 'n');
    expect(name).toHaveLength(100);
    const res = await createWith({ name });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('does not coerce body types ("name": 5 is refused)', async () => {
    expectEnvelope(await createWith({ name: 5 }), 400, 'VALIDATION_ERROR', 'name');
  });
});

describe('error envelope', () => {
  it('has exactly the envelope keys on every kind of error', async () => {
    const project = (await createWith({ name: uniqueName('Envelope') })).json().id as string;
    const errors = [
      await send({ method: 'GET', url: '/projects' }),
      await send({ method: 'GET', url: '/projects', headers: { authorization: 'Basic abc' } }),
      await send({ method: 'GET', url: '/no/such/route' }),
      await send({ method: 'GET', url: '/projects/prj-missing', token }),
      await send({ method: 'GET', url: '/projects?limit=0', token }),
      await createWith({ name: 'x', colour: 'red' }),
      await createWith({ name: 'x'.repeat(2 * 1024 * 1024) }),
      await send({ method: 'POST', url: '/projects', token, headers: { 'content-type': 'text/plain' }, payload: 'x' }),
      await send({
        method: 'DELETE',
        url: `/projects/${project}`,
        token,
        json: { confirmation: { projectId: project } },
      }),
    ];
    const problems = errors.flatMap((res) => {
      if (res.statusCode < 400) return [`expected an error, got ${res.statusCode}`];
      return envelopeProblems(res.json()).map((p) => `${res.statusCode} ${res.body}: ${p}`);
    });
    expect(problems).toEqual([]);
    // 415 is left out: the text/plain case is proven (and reported) by its own test above.
    expect(errors.map((res) => res.statusCode)).toEqual(expect.arrayContaining([400, 401, 404, 409, 413]));
  });
});

describe('the /api prefix', () => {
  it('answers GET /projects identically with and without /api', async () => {
    await createWith({ name: uniqueName('Prefixed') });
    const plain = await send({ method: 'GET', url: '/projects', token });
    const prefixed = await send({ method: 'GET', url: '/api/projects', token });
    expect(prefixed.statusCode).toBe(plain.statusCode);
    expect(prefixed.json()).toEqual(plain.json());
    expect(plain.json().items.length).toBeGreaterThan(0);
  });

  it('creates a project with POST /api/projects', async () => {
    const name = uniqueName('Via Api');
    const created = await send({ method: 'POST', url: '/api/projects', token, json: { name } });
    expect(created.statusCode, created.body).toBe(201);
    const shown = await send({ method: 'GET', url: `/projects/${created.json().id}`, token });
    expect(shown.json()).toMatchObject({ id: created.json().id, name });
  });

  it('keeps unknown routes NOT_FOUND under /api', async () => {
    expectEnvelope(await send({ method: 'GET', url: '/api/no/such/route', token }), 404, 'NOT_FOUND');
  });
});

describe('public system routes', () => {
  it.each(['/version', '/api/version'])('answers GET %s with the version document without a token', async (url) => {
    const res = await send({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      name: 'berth',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      apiVersion: 'v1',
      mode: 'self-hosted',
    });
  });

  it.each(['/healthz', '/readyz'])('answers GET %s with 200 without a token', async (url) => {
    expect((await send({ method: 'GET', url })).statusCode).toBe(200);
  });
});

describe('server errors', () => {
  it('answered no request in this file with a 5xx', () => {
    expect(seen.length).toBeGreaterThan(30);
    expect(
      seen.filter(({ res }) => res.statusCode >= 500).map(({ what, res }) => `${what}: ${res.statusCode}`),
    ).toEqual([]);
  });
});
