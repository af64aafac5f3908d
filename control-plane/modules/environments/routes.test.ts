import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';

let t: TestApp;
let token: string;
let projectId: string;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
  projectId = (await t.request({ method: 'POST', url: '/projects', token, json: { name: 'Shop' } })).json().id;
});
afterAll(async () => t?.close());

async function createEnvironment(name: string, kind = 'staging'): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/environments', token, json: { projectId, name, kind } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const show = async (id: string) => (await t.request({ method: 'GET', url: `/environments/${id}`, token })).json();

describe('environments', () => {
  it('creates an environment in a project and shows it with its kind and no variables', async () => {
    const id = await createEnvironment('Staging');
    expect(id).toMatch(/^env-/);
    expect(await show(id)).toMatchObject({
      id,
      projectId,
      name: 'Staging',
      kind: 'staging',
      lifecycleStatus: 'active',
      lockedAt: null,
      maskedVariables: [],
    });
    const count = await t.request({ method: 'GET', url: `/environments/count?projectId=${projectId}`, token });
    expect(count.json().count).toBeGreaterThanOrEqual(1);
  });

  it('refuses a duplicate name in the same project in any letter case', async () => {
    await createEnvironment('Preview');
    const res = await t.request({ method: 'POST', url: '/environments', token, json: { projectId, name: 'PREVIEW' } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CONFLICT', field: 'name' });
  });

  it('answers NOT_FOUND for an unknown project, and CONFLICT for an archived one', async () => {
    const unknown = await t.request({
      method: 'POST',
      url: '/environments',
      token,
      json: { projectId: 'prj-nope', name: 'x' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND', field: 'projectId' });
    const archived = (await t.request({ method: 'POST', url: '/projects', token, json: { name: 'Old' } })).json().id;
    await t.request({ method: 'POST', url: `/projects/${archived}/archive`, token, json: {} });
    const res = await t.request({
      method: 'POST',
      url: '/environments',
      token,
      json: { projectId: archived, name: 'x' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().hint).toContain(`/projects/${archived}/restore`);
  });

  it('stores a secret variable sealed and shows it only as ****', async () => {
    const id = await createEnvironment('Secretive');
    const set = await t.request({
      method: 'POST',
      url: `/environments/${id}/variables`,
      token,
      json: { key: 'API_TOKEN', value: 'tok-123-plaintext', kind: 'secret', exposure: 'runtime' },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.body).toBe('null');
    await t.request({
      method: 'POST',
      url: `/environments/${id}/variables`,
      token,
      json: { key: 'LOG_LEVEL', value: 'info' },
    });
    const shown = await show(id);
    expect(shown.maskedVariables).toEqual([
      expect.objectContaining({
        key: 'API_TOKEN',
        value: '****',
        isSecret: true,
        kind: 'secret',
        scope: 'environment',
      }),
      expect.objectContaining({
        key: 'LOG_LEVEL',
        value: 'info',
        isSecret: false,
        kind: 'plain-config',
        exposure: 'runtime',
      }),
    ]);
    const effective = (
      await t.request({ method: 'GET', url: `/environments/${id}/effective-precedence`, token })
    ).json();
    expect(effective.effectiveEntries.map((e: { key: string }) => e.key)).toEqual(['API_TOKEN', 'LOG_LEVEL']);
    expect(effective.precedence).toEqual(['environment', 'resource', 'resource-secret']);
    expect(JSON.stringify(effective)).not.toContain('tok-123-plaintext');
  });

  it('replaces a plain variable when the same key is set as a secret', async () => {
    const id = await createEnvironment('Replacing');
    const url = `/environments/${id}/variables`;
    await t.request({ method: 'POST', url, token, json: { key: 'DB_PASSWORD', value: 'plain' } });
    await t.request({ method: 'POST', url, token, json: { key: 'DB_PASSWORD', value: 'sealed', isSecret: true } });
    expect((await show(id)).maskedVariables).toEqual([expect.objectContaining({ key: 'DB_PASSWORD', value: '****' })]);
  });

  it('unsets a variable, and answers NOT_FOUND for one that is not there', async () => {
    const id = await createEnvironment('Unsetting');
    await t.request({ method: 'POST', url: `/environments/${id}/variables`, token, json: { key: 'A', value: '1' } });
    const removed = await t.request({
      method: 'DELETE',
      url: `/environments/${id}/variables/A`,
      token,
      json: { exposure: 'runtime' },
    });
    expect(removed.statusCode, removed.body).toBe(200);
    expect((await show(id)).maskedVariables).toEqual([]);
    const again = await t.request({ method: 'DELETE', url: `/environments/${id}/variables/A`, token, json: {} });
    expect(again.statusCode).toBe(404);
    expect(again.json().field).toBe('key');
  });

  it.each([
    ['a name starting with a digit', { key: '1ABC', value: 'x' }, 'key'],
    ['a name with a hyphen', { key: 'MY-KEY', value: 'x' }, 'key'],
    ['a value over the limit', { key: 'BIG', value: 'x'.repeat(32_769) }, 'value'],
    ['an unknown exposure', { key: 'A', value: 'x', exposure: 'sometimes' }, 'exposure'],
    ['an unknown kind', { key: 'A', value: 'x', kind: 'magic' }, 'kind'],
  ])('refuses %s with VALIDATION_ERROR naming the field', async (_name, body, field) => {
    const id = await createEnvironment(`Invalid ${field} ${Math.random()}`);
    const res = await t.request({ method: 'POST', url: `/environments/${id}/variables`, token, json: body });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field });
    expect((await show(id)).maskedVariables).toEqual([]);
  });

  it('locks: refuses variable changes and renames with a hint naming the unlock call, and unlock lets them through', async () => {
    const id = await createEnvironment('Production', 'production');
    const locked = await t.request({
      method: 'POST',
      url: `/environments/${id}/lock`,
      token,
      json: { reason: 'release freeze' },
    });
    expect(locked.json()).toEqual({ id });
    expect(await show(id)).toMatchObject({ lifecycleStatus: 'locked', lockReason: 'release freeze' });
    const refused = await t.request({
      method: 'POST',
      url: `/environments/${id}/variables`,
      token,
      json: { key: 'A', value: '1' },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('CONFLICT');
    expect(refused.json().hint).toContain(`POST /environments/${id}/unlock`);
    expect(refused.json().hint).toContain('release freeze');
    const rename = await t.request({
      method: 'POST',
      url: `/environments/${id}/rename`,
      token,
      json: { name: 'Prod' },
    });
    expect(rename.statusCode).toBe(409);
    await t.request({ method: 'POST', url: `/environments/${id}/unlock`, token });
    const accepted = await t.request({
      method: 'POST',
      url: `/environments/${id}/variables`,
      token,
      json: { key: 'A', value: '1' },
    });
    expect(accepted.statusCode).toBe(200);
    expect(await show(id)).toMatchObject({ lifecycleStatus: 'active', lockedAt: null, lockReason: null });
  });

  it('archives: stays readable, refuses changes, unlock and lock', async () => {
    const id = await createEnvironment('Retired');
    await t.request({ method: 'POST', url: `/environments/${id}/archive`, token, json: { reason: 'replaced' } });
    expect(await show(id)).toMatchObject({ lifecycleStatus: 'archived', archiveReason: 'replaced' });
    for (const [url, json] of [
      [`/environments/${id}/variables`, { key: 'A', value: '1' }],
      [`/environments/${id}/rename`, { name: 'Other' }],
      [`/environments/${id}/unlock`, {}],
      [`/environments/${id}/lock`, {}],
    ] as const) {
      const res = await t.request({ method: 'POST', url, token, json });
      expect(res.statusCode, url).toBe(409);
    }
  });

  it('renames an active environment', async () => {
    const id = await createEnvironment('Before');
    await t.request({ method: 'POST', url: `/environments/${id}/rename`, token, json: { name: 'After' } });
    expect((await show(id)).name).toBe('After');
  });

  it('applies concurrent variable writes to one environment without losing any', async () => {
    const id = await createEnvironment('Busy');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.request({
          method: 'POST',
          url: `/environments/${id}/variables`,
          token,
          json: { key: `K${i}`, value: `${i}` },
        }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect((await show(id)).maskedVariables).toHaveLength(20);
  });
});
