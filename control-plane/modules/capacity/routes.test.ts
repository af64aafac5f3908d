import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { registerServer } from '../../../test/helpers/register-server.js';

let t: TestApp;
let token: string;
let serverId: string;

const call = (method: 'GET' | 'POST', url: string, json?: unknown) =>
  t.request({ method, url, token, ...(json === undefined ? {} : { json }) });

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
  serverId = await registerServer(t, token, 'capacity-1');
});
afterAll(async () => {
  await t?.close();
});

describe('capacity', () => {
  it('refuses a prune before in the future, unknown categories and unknown fields, naming the field', async () => {
    const future = await call('POST', `/servers/${serverId}/capacity/prune`, {
      before: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(future.statusCode).toBe(400);
    expect(future.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'before' });
    const category = await call('POST', `/servers/${serverId}/capacity/prune`, { categories: ['volumes'] });
    expect(category.statusCode).toBe(400);
    expect(category.json().code).toBe('VALIDATION_ERROR');
    const unknown = await call('POST', `/servers/${serverId}/capacity/prune`, { force: true });
    expect(unknown.statusCode).toBe(400);
  });

  it('answers 404 for a server that does not exist and 503 while the agent is not connected', async () => {
    expect((await call('GET', '/servers/srv-nope/capacity')).statusCode).toBe(404);
    const away = await call('GET', `/servers/${serverId}/capacity`);
    expect(away.statusCode).toBe(503);
    expect(away.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    expect(away.json().hint).toContain('connectivity');
    const prune = await call('POST', `/servers/${serverId}/capacity/prune`, {});
    expect(prune.statusCode).toBe(503);
  });

  it('keeps one policy per scope and server, dry by default, raising its version on each change', async () => {
    const first = await call('POST', '/servers/capacity/policies', { scope: 'defaults', retentionDays: 7 });
    expect(first.statusCode).toBe(200);
    const again = await call('POST', '/servers/capacity/policies', {
      scope: 'defaults',
      retentionDays: 3,
      destructive: true,
    });
    expect(again.json().id).toBe(first.json().id);
    const shown = (await call('GET', `/servers/capacity/policies/${first.json().id}`)).json().policy;
    expect(shown).toMatchObject({ version: '2', retentionDays: 3, destructive: true, serverId: null });
    const perServer = await call('POST', '/servers/capacity/policies', {
      scope: 'defaults',
      retentionDays: 1,
      serverId,
    });
    expect(perServer.json().id).not.toBe(first.json().id);
    expect((await call('GET', `/servers/capacity/policies/${perServer.json().id}`)).json().policy.destructive).toBe(
      false,
    );
    const listed = (await call('GET', `/servers/capacity/policies?serverId=${serverId}`)).json().items;
    expect(listed.map((p: { id: string }) => p.id)).toEqual([perServer.json().id]);
    expect((await call('POST', '/servers/capacity/policies', { scope: 'team', retentionDays: 1 })).statusCode).toBe(
      400,
    );
    expect((await call('POST', '/servers/capacity/policies', { scope: 'defaults', retentionDays: 0 })).statusCode).toBe(
      400,
    );
    const stranger = await call('POST', '/servers/capacity/policies', {
      scope: 'defaults',
      retentionDays: 1,
      serverId: 'srv-nope',
    });
    expect(stranger.statusCode).toBe(404);
    expect((await call('GET', '/servers/capacity/policies/ppl-nope')).statusCode).toBe(404);
  });
});
