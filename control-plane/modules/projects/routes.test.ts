import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../shared/ids.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { Organization } from '../identity/entity.js';

let t: TestApp;
let token: string;
let organizationId: string;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token, organizationId } = await t.bootstrap());
});
afterAll(async () => t?.close());

async function createProject(name: string): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/projects', token, json: { name } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

describe('projects', () => {
  it('creates a project whose id also satisfies the service-catalog id pattern', async () => {
    const id = await createProject('Web Shop');
    expect(id).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    expect(id.length).toBeGreaterThanOrEqual(8);
    expect(id.length).toBeLessThanOrEqual(60);
    const shown = await t.request({ method: 'GET', url: `/projects/${id}`, token });
    expect(shown.json()).toMatchObject({ id, name: 'Web Shop', slug: 'web-shop', lifecycleStatus: 'active' });
  });

  it('refuses a second project with the same name in any letter case', async () => {
    await createProject('Billing');
    const res = await t.request({ method: 'POST', url: '/projects', token, json: { name: 'BILLING' } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CONFLICT', field: 'name' });
  });

  it('keeps the slug when a project is renamed', async () => {
    const id = await createProject('Old Name');
    const renamed = await t.request({
      method: 'POST',
      url: `/projects/${id}/rename`,
      token,
      json: { name: 'New Name' },
    });
    expect(renamed.json()).toEqual({ id });
    const shown = (await t.request({ method: 'GET', url: `/projects/${id}`, token })).json();
    expect(shown).toMatchObject({ name: 'New Name', slug: 'old-name' });
  });

  it('refuses renaming an archived project and names the way out', async () => {
    const id = await createProject('Frozen');
    await t.request({ method: 'POST', url: `/projects/${id}/archive`, token, json: { reason: 'done' } });
    const res = await t.request({ method: 'POST', url: `/projects/${id}/rename`, token, json: { name: 'Thawed' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().hint).toContain(`/projects/${id}/restore`);
    const shown = (await t.request({ method: 'GET', url: `/projects/${id}`, token })).json();
    expect(shown).toMatchObject({ name: 'Frozen', lifecycleStatus: 'archived', archiveReason: 'done' });
  });

  it('deletes only an archived project, and only with a matching confirmation', async () => {
    const id = await createProject('Doomed');
    const early = await t.request({
      method: 'DELETE',
      url: `/projects/${id}`,
      token,
      json: { confirmation: { projectId: id } },
    });
    expect(early.statusCode).toBe(409);
    const check = (await t.request({ method: 'GET', url: `/projects/${id}/delete-check`, token })).json();
    expect(check).toMatchObject({ eligible: false, blockers: [{ kind: 'active-project', relatedEntityId: id }] });

    await t.request({ method: 'POST', url: `/projects/${id}/archive`, token });
    const missing = await t.request({ method: 'DELETE', url: `/projects/${id}`, token });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().field).toBe('confirmation');
    const wrong = await t.request({
      method: 'DELETE',
      url: `/projects/${id}`,
      token,
      json: { confirmation: { projectId: 'prj-someone-else' } },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().field).toBe('confirmation.projectId');
    expect((await t.request({ method: 'GET', url: `/projects/${id}`, token })).statusCode).toBe(200);

    const ok = await t.request({
      method: 'DELETE',
      url: `/projects/${id}`,
      token,
      json: { confirmation: { projectId: id } },
    });
    expect(ok.json()).toEqual({ id });
    expect((await t.request({ method: 'GET', url: `/projects/${id}`, token })).statusCode).toBe(404);
  });

  it('restores an archived project to active and clears its archive fields', async () => {
    const id = await createProject('Phoenix');
    await t.request({ method: 'POST', url: `/projects/${id}/archive`, token, json: {} });
    const restored = await t.request({ method: 'POST', url: `/projects/${id}/restore`, token });
    expect(restored.statusCode).toBe(200);
    const shown = (await t.request({ method: 'GET', url: `/projects/${id}`, token })).json();
    expect(shown).toMatchObject({ lifecycleStatus: 'active', archivedAt: null, archiveReason: null });
  });

  it('sets and clears the description', async () => {
    const id = await createProject('Described');
    await t.request({ method: 'POST', url: `/projects/${id}/description`, token, json: { description: 'Our shop' } });
    expect((await t.request({ method: 'GET', url: `/projects/${id}`, token })).json().description).toBe('Our shop');
    await t.request({ method: 'POST', url: `/projects/${id}/description`, token, json: {} });
    expect((await t.request({ method: 'GET', url: `/projects/${id}`, token })).json().description).toBeNull();
  });

  it('lists in creation order, honours limit and counts every project', async () => {
    const count = (await t.request({ method: 'GET', url: '/projects/count', token })).json().count;
    const all = (await t.request({ method: 'GET', url: '/projects?limit=500', token })).json().items;
    expect(all).toHaveLength(count);
    const createdAts = all.map((p: { createdAt: string }) => p.createdAt);
    expect([...createdAts].sort()).toEqual(createdAts);
    const two = (await t.request({ method: 'GET', url: '/projects?limit=2', token })).json().items;
    expect(two.map((p: { id: string }) => p.id)).toEqual(all.slice(0, 2).map((p: { id: string }) => p.id));
  });

  it('accepts the path id repeated in the body only when it is the same id', async () => {
    const id = await createProject('Echo');
    const same = await t.request({
      method: 'POST',
      url: `/projects/${id}/rename`,
      token,
      json: { projectId: id, name: 'Echo 2' },
    });
    expect(same.statusCode).toBe(200);
    const other = await t.request({
      method: 'POST',
      url: `/projects/${id}/rename`,
      token,
      json: { projectId: 'prj-other', name: 'Echo 3' },
    });
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'projectId' });
  });

  it('accepts organizationId when it is the current organization, and NOT_FOUND for any other', async () => {
    const created = await t.request({
      method: 'POST',
      url: '/projects',
      token,
      json: { name: 'Named Org', organizationId },
    });
    expect(created.statusCode, created.body).toBe(201);
    const shown = await t.request({ method: 'GET', url: `/projects/${created.json().id}`, token });
    expect(shown.json()).toMatchObject({ organizationId, name: 'Named Org' });

    // An organization that exists but is not the session's, and one that never existed, answer alike.
    const em = t.orm.em.fork();
    const at = new Date();
    const other = em.create(Organization, {
      id: newId('organization'),
      name: 'Other',
      slug: 'other-org',
      createdAt: at,
      updatedAt: at,
    });
    await em.flush();
    for (const foreign of [other.id, 'org-unknown']) {
      const res = await t.request({
        method: 'POST',
        url: '/projects',
        token,
        json: { name: 'Elsewhere', organizationId: foreign },
      });
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND', field: 'organizationId' });
    }
    const names = (await t.request({ method: 'GET', url: '/projects?limit=500', token }))
      .json()
      .items.map((p: { name: string }) => p.name);
    expect(names).not.toContain('Elsewhere');
  });
});
