import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { createWebResource, type WebResource } from '../../../test/helpers/create-web-resource.js';
import { parseSince } from './service.js';

let t: TestApp;
let token: string;
let web: WebResource;

const get = (url: string) => t.request({ method: 'GET', url, token });

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
  web = await createWebResource(t, token, 'Logs');
});
afterAll(async () => {
  await t?.close();
});

describe('runtime logs', () => {
  it('reads an instant or a duration back from now as since', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    expect(parseSince('15m', now)?.toISOString()).toBe('2026-12-07T11:45:00.000Z');
    expect(parseSince('2026-12-07T10:00:00Z', now)?.toISOString()).toBe('2026-12-07T10:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow(/since/);
  });

  it('refuses bad queries with a clear envelope naming the field', async () => {
    const base = `/resources/${web.resourceId}/runtime-logs`;
    for (const [query, field] of [
      ['since=soon', 'since'],
      ['cursor=abc', 'cursor'],
      ['tailLines=5000', 'tailLines'],
    ] as const) {
      const res = await get(`${base}?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json(), query).toMatchObject({ code: 'VALIDATION_ERROR' });
      expect(JSON.stringify(res.json()), query).toContain(field);
    }
    expect((await get(`${base}?deploymentId=dep-nope`)).statusCode).toBe(404);
    expect((await get('/resources/res-nope/runtime-logs')).statusCode).toBe(404);
    expect((await get('/resources/res-nope/runtime-logs/stream')).statusCode).toBe(404);
    const noLines = await get(base);
    expect(noLines.json()).toEqual({ resourceId: web.resourceId, deploymentId: null, logs: [] });
  });

  it('prunes archives only when told, and refuses a before in the future', async () => {
    const future = await t.request({
      method: 'POST',
      url: '/resources/runtime-log-archives/prune',
      token,
      json: { before: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(future.statusCode).toBe(400);
    expect(future.json().field).toBe('before');
    const dry = await t.request({
      method: 'POST',
      url: '/resources/runtime-log-archives/prune',
      token,
      json: { before: new Date().toISOString() },
    });
    expect(dry.json()).toMatchObject({ dryRun: true, prunedCount: 0 });
  });
});
