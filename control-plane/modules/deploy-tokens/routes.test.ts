import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';

let t: TestApp;
let token: string;
let organizationId: string;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token, organizationId } = await t.bootstrap());
});
afterAll(async () => t?.close());

async function createToken(scope: Record<string, unknown> = { workflowCommands: ['deploy'] }) {
  const res = await t.request({
    method: 'POST',
    url: '/deploy-tokens',
    token,
    json: { organizationId, displayName: 'CI', scope },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { tokenId: string; token: string; secretSuffix: string; scopes: Record<string, string[]> };
}

describe('deploy tokens', () => {
  it('shows the secret once at creation and never again', async () => {
    const created = await createToken();
    expect(created.token).toMatch(/^berth_d_/);
    expect(created.token.endsWith(created.secretSuffix)).toBe(true);
    expect(created.scopes).toMatchObject({ workflowCommands: ['deploy'], projectIds: [] });
    const shown = await t.request({
      method: 'GET',
      url: `/deploy-tokens/${created.tokenId}?organizationId=${organizationId}`,
      token,
    });
    expect(shown.json()).toMatchObject({
      tokenId: created.tokenId,
      status: 'active',
      scope: { workflowCommands: ['deploy'] },
    });
    const listed = await t.request({ method: 'GET', url: `/deploy-tokens?organizationId=${organizationId}`, token });
    expect(listed.body).not.toContain(created.token);
    expect(shown.body).not.toContain(created.token);
    const stored = await t.orm.em.getConnection().execute('select token_hash from deploy_tokens');
    expect(JSON.stringify(stored)).not.toContain(created.token);
  });

  it('authenticates reads for CI within its project scope and refuses other projects', async () => {
    const mine = (await t.request({ method: 'POST', url: '/projects', token, json: { name: 'Scoped' } })).json().id;
    const other = (await t.request({ method: 'POST', url: '/projects', token, json: { name: 'Unscoped' } })).json().id;
    const ci = await createToken({ workflowCommands: ['deploy'], projectIds: [mine] });
    const list = await t.request({ method: 'GET', url: '/projects', token: ci.token });
    expect(list.json().items.map((p: { id: string }) => p.id)).toEqual([mine]);
    expect((await t.request({ method: 'GET', url: `/projects/${mine}`, token: ci.token })).statusCode).toBe(200);
    const refused = await t.request({ method: 'GET', url: `/projects/${other}`, token: ci.token });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('FORBIDDEN_SCOPE');
  });

  it('cannot change projects, manage tokens or read account data', async () => {
    const ci = await createToken();
    for (const [method, url] of [
      ['POST', '/projects'],
      ['GET', '/account/sessions'],
      ['GET', `/deploy-tokens?organizationId=${organizationId}`],
    ] as const) {
      const res = await t.request({
        method,
        url,
        token: ci.token,
        ...(method === 'POST' ? { json: { name: 'x' } } : {}),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe('FORBIDDEN_SCOPE');
    }
  });

  it('reads current-context limited to its organization and scope, with no user data or permissions', async () => {
    const projectId = (await t.request({ method: 'POST', url: '/projects', token, json: { name: 'Context' } })).json()
      .id;
    const ci = await createToken({ workflowCommands: ['deploy'], projectIds: [projectId] });
    const res = await t.request({ method: 'GET', url: '/organizations/current-context', token: ci.token });
    expect(res.statusCode, res.body).toBe(200);
    const context = res.json();
    expect(context.user).toEqual({ userId: null, email: null, displayName: 'CI', avatarUrl: null });
    expect(context.actor).toEqual({
      kind: 'deploy-token',
      id: ci.tokenId,
      scope: expect.objectContaining({ projectIds: [projectId], workflowCommands: ['deploy'] }),
    });
    const organization = { organizationId, name: 'Default organization', slug: 'default', role: 'deploy-token' };
    expect(context.currentOrganization).toEqual(organization);
    expect(context.organizations).toEqual([organization]);
    expect(Object.values(context.permissions).every((allowed) => allowed === false)).toBe(true);
    expect(res.body).not.toContain('ada@example.com');
  });

  it('stops working at once when revoked, and revoking needs the matching confirmation', async () => {
    const ci = await createToken();
    const wrong = await t.request({
      method: 'POST',
      url: `/deploy-tokens/${ci.tokenId}/revoke`,
      token,
      json: { organizationId, confirmation: { tokenId: 'dtk-other' } },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().field).toBe('confirmation.tokenId');
    expect((await t.request({ method: 'GET', url: '/projects', token: ci.token })).statusCode).toBe(200);

    const revoked = await t.request({
      method: 'POST',
      url: `/deploy-tokens/${ci.tokenId}/revoke`,
      token,
      json: { organizationId, confirmation: { tokenId: ci.tokenId } },
    });
    expect(revoked.statusCode).toBe(200);
    const after = await t.request({ method: 'GET', url: '/projects', token: ci.token });
    expect(after.statusCode).toBe(401);
    expect(after.json().message).toContain('revoked');
  });

  it('replaces the secret on rotation: the old one is refused, the new one works', async () => {
    const ci = await createToken();
    const rotated = await t.request({
      method: 'POST',
      url: `/deploy-tokens/${ci.tokenId}/rotate`,
      token,
      json: { organizationId, confirmation: { tokenId: ci.tokenId } },
    });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.json().token as string;
    expect(fresh).not.toBe(ci.token);
    expect((await t.request({ method: 'GET', url: '/projects', token: ci.token })).statusCode).toBe(401);
    expect((await t.request({ method: 'GET', url: '/projects', token: fresh })).statusCode).toBe(200);
  });

  it('refuses another organization, an unknown workflow command and a past expiry', async () => {
    const foreign = await t.request({
      method: 'POST',
      url: '/deploy-tokens',
      token,
      json: { organizationId: 'org-elsewhere', displayName: 'x', scope: { workflowCommands: ['deploy'] } },
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().field).toBe('organizationId');
    const command = await t.request({
      method: 'POST',
      url: '/deploy-tokens',
      token,
      json: { organizationId, displayName: 'x', scope: { workflowCommands: ['format-disk'] } },
    });
    expect(command.statusCode).toBe(400);
    expect(command.json().field).toBe('scope.workflowCommands.0');
    const past = await t.request({
      method: 'POST',
      url: '/deploy-tokens',
      token,
      json: {
        organizationId,
        displayName: 'x',
        scope: { workflowCommands: ['deploy'] },
        expiresAt: '2020-01-01T00:00:00Z',
      },
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().field).toBe('expiresAt');
  });
});
