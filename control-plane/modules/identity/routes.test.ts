import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';

const firstAdmin = { email: 'ada@example.com', displayName: 'Ada Lovelace' };

async function countRows(t: TestApp, table: 'users' | 'organizations' | 'memberships'): Promise<number> {
  const [row] = await t.orm.em.getConnection().execute(`select count(*)::int as n from "${table}"`);
  return row.n;
}

describe('before the first admin exists', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => t?.close());

  it('reports that a bootstrap is required and says how to create the first admin', async () => {
    const res = await t.request({ method: 'GET', url: '/bootstrap/auth/status' });
    expect(res.statusCode).toBe(200);
    const status = res.json();
    expect(status).toMatchObject({
      bootstrapRequired: true,
      firstAdminConfigured: false,
      organizationConfigured: false,
      firstAdminEmail: null,
      organizationId: null,
      organizationSlug: null,
    });
    expect(status.nextSteps.join(' ')).toContain('/bootstrap/auth/first-admin');
    expect(status.loginMethods).toEqual([expect.objectContaining({ key: 'local-password', configured: false })]);
  });

  it.each([
    ['an invalid email', { email: 'not-an-email', displayName: 'Ada' }, 'email'],
    ['a missing email', { displayName: 'Ada' }, 'email'],
    ['a missing displayName', { email: 'ada@example.com' }, 'displayName'],
    ['an empty displayName', { email: 'ada@example.com', displayName: '' }, 'displayName'],
    ['a blank displayName', { email: 'ada@example.com', displayName: '   ' }, 'displayName'],
    ['a too long displayName', { email: 'ada@example.com', displayName: 'x'.repeat(101) }, 'displayName'],
    ['an unknown body field', { email: 'ada@example.com', displayName: 'Ada', role: 'owner' }, 'role'],
    ['a too short password', { ...firstAdmin, password: 'eleven-char' }, 'password'],
    ['a too long password', { ...firstAdmin, password: 'x'.repeat(257) }, 'password'],
    ['a blank organizationName', { ...firstAdmin, organizationName: '   ' }, 'organizationName'],
    ['an organizationSlug with capitals', { ...firstAdmin, organizationSlug: 'Acme' }, 'organizationSlug'],
    ['an organizationSlug with a double hyphen', { ...firstAdmin, organizationSlug: 'acme--labs' }, 'organizationSlug'],
    ['an empty organizationSlug', { ...firstAdmin, organizationSlug: '' }, 'organizationSlug'],
    ['an empty idempotencyKey', { ...firstAdmin, idempotencyKey: '' }, 'idempotencyKey'],
  ])('refuses %s with VALIDATION_ERROR naming the field and creates nothing', async (_case, json, field) => {
    const res = await t.request({ method: 'POST', url: '/bootstrap/auth/first-admin', json });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field, category: 'user', retryable: false });
    expect(await countRows(t, 'users')).toBe(0);
  });
});

describe('the password policy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => t?.close());

  it('explains a too short password without echoing it, in the body or the logs', async () => {
    const password = 'tooShort-42';
    const res = await t.request({
      method: 'POST',
      url: '/bootstrap/auth/first-admin',
      json: { ...firstAdmin, password },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'password' });
    expect(res.json().message).toContain('12 to 256 characters');
    expect(res.json().hint).toContain('at least 12 characters');
    expect(res.body).not.toContain(password);
    expect(t.logs.join('')).not.toContain(password);
    expect(await countRows(t, 'users')).toBe(0);
  });
});

describe('creating the first admin', () => {
  // Each test starts from an empty database of its own.
  const opened: TestApp[] = [];
  async function freshApp(): Promise<TestApp> {
    const t = await buildTestApp();
    opened.push(t);
    return t;
  }
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.close();
  });

  it('creates the first admin with a generated password and answers 201 in the seed shape', async () => {
    const t = await freshApp();
    const res = await t.request({ method: 'POST', url: '/bootstrap/auth/first-admin', json: firstAdmin });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(
      [
        'bootstrapRequired',
        'created',
        'email',
        'generatedPassword',
        'loginMethods',
        'loginUrl',
        'organizationId',
        'organizationSlug',
        'userId',
      ].sort(),
    );
    expect(body).toMatchObject({
      bootstrapRequired: false,
      created: true,
      email: firstAdmin.email,
      organizationSlug: 'default',
    });
    expect(body.userId).toMatch(/^usr-/);
    expect(body.organizationId).toMatch(/^org-/);
    expect(typeof body.generatedPassword).toBe('string');
    expect(body.generatedPassword.length).toBeGreaterThanOrEqual(20);
    expect(body.loginUrl).toMatch(/\/auth\/sessions$/);
    expect(body.loginMethods).toEqual([expect.objectContaining({ key: 'local-password', configured: true })]);
  });

  it('stores the email lower-cased and trims the display name', async () => {
    const t = await freshApp();
    const res = await t.request({
      method: 'POST',
      url: '/bootstrap/auth/first-admin',
      json: { email: 'Ada@Example.COM', displayName: '  Ada  ' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().email).toBe('ada@example.com');
    const rows = await t.orm.em.getConnection().execute('select email, display_name from users');
    expect(rows).toEqual([{ email: 'ada@example.com', display_name: 'Ada' }]);
  });

  it('takes a chosen password, organization name and slug; the password is never echoed or logged', async () => {
    const t = await freshApp();
    const password = 'correct horse battery staple';
    const res = await t.request({
      method: 'POST',
      url: '/bootstrap/auth/first-admin',
      json: { ...firstAdmin, password, organizationName: 'Acme Labs', organizationSlug: 'acme' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ created: true, organizationSlug: 'acme' });
    expect(res.json()).not.toHaveProperty('generatedPassword');
    expect(res.body).not.toContain(password);
    const login = await t.request({
      method: 'POST',
      url: '/auth/sessions',
      json: { email: firstAdmin.email, password },
    });
    expect(login.statusCode, login.body).toBe(201);
    const context = await t.request({
      method: 'GET',
      url: '/organizations/current-context',
      token: login.json().token,
    });
    expect(context.json().currentOrganization).toMatchObject({ name: 'Acme Labs', slug: 'acme', role: 'owner' });
    expect(t.logs.join('')).not.toContain(password);
  });

  it('derives the slug from a chosen organization name', async () => {
    const t = await freshApp();
    const res = await t.request({
      method: 'POST',
      url: '/bootstrap/auth/first-admin',
      json: { ...firstAdmin, organizationName: 'Café Crème' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().organizationSlug).toBe('cafe-creme');
  });

  it('answers a repeat with the same idempotency key and body with the first answer, and refuses another body', async () => {
    const t = await freshApp();
    const body = { ...firstAdmin, password: 'a long enough password', idempotencyKey: 'bootstrap-1' };
    const first = await t.request({ method: 'POST', url: '/bootstrap/auth/first-admin', json: body });
    expect(first.statusCode, first.body).toBe(201);
    const again = await t.request({ method: 'POST', url: '/bootstrap/auth/first-admin', json: body });
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');

    for (const other of [
      { ...body, displayName: 'Someone Else' },
      { ...body, password: 'another long password' },
      { ...body, password: undefined },
    ]) {
      const res = await t.request({ method: 'POST', url: '/bootstrap/auth/first-admin', json: other });
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'idempotencyKey' });
    }
    const otherKey = await t.request({
      method: 'POST',
      url: '/bootstrap/auth/first-admin',
      json: { ...body, idempotencyKey: 'bootstrap-2' },
    });
    expect(otherKey.statusCode).toBe(409);
    expect(otherKey.json().code).toBe('CONFLICT');
    expect(await countRows(t, 'users')).toBe(1);
    expect(await countRows(t, 'organizations')).toBe(1);
  });

  it('never repeats a generated password: a replay answers without it', async () => {
    const t = await freshApp();
    const body = { ...firstAdmin, idempotencyKey: 'bootstrap-generated' };
    const first = await t.request({ method: 'POST', url: '/bootstrap/auth/first-admin', json: body });
    expect(first.statusCode, first.body).toBe(201);
    expect(typeof first.json().generatedPassword).toBe('string');
    const again = await t.request({ method: 'POST', url: '/bootstrap/auth/first-admin', json: body });
    expect(again.statusCode, again.body).toBe(201);
    const { generatedPassword: _shownOnce, ...rest } = first.json();
    expect(again.json()).toEqual(rest);
  });

  it('creates exactly one admin when ten first-admin requests race', async () => {
    const t = await freshApp();
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.request({
          method: 'POST',
          url: '/bootstrap/auth/first-admin',
          json: { email: `admin${i}@example.com`, displayName: `Admin ${i}` },
        }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    for (const r of responses.filter((r) => r.statusCode === 409)) expect(r.json().code).toBe('CONFLICT');
    expect(await countRows(t, 'users')).toBe(1);
    expect(await countRows(t, 'organizations')).toBe(1);
    expect(await countRows(t, 'memberships')).toBe(1);
  });
});

describe('after the first admin exists', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp['bootstrap']>>;

  beforeAll(async () => {
    t = await buildTestApp();
    admin = await t.bootstrap();
  });
  afterAll(async () => t?.close());

  it('reports the bootstrap as done with the default organization', async () => {
    const status = (await t.request({ method: 'GET', url: '/bootstrap/auth/status' })).json();
    expect(status).toMatchObject({
      bootstrapRequired: false,
      firstAdminConfigured: true,
      organizationConfigured: true,
      organizationId: admin.organizationId,
      organizationSlug: 'default',
    });
    expect(status.nextSteps.join(' ')).not.toContain('first-admin');
  });

  it("shows the first admin's email only to a caller with a valid token", async () => {
    const anonymous = await t.request({ method: 'GET', url: '/bootstrap/auth/status' });
    expect(anonymous.json().firstAdminEmail).toBeNull();
    const bogus = await t.request({ method: 'GET', url: '/bootstrap/auth/status', token: 'berth_s_not-a-token' });
    expect(bogus.statusCode).toBe(200);
    expect(bogus.json().firstAdminEmail).toBeNull();
    const authenticated = await t.request({ method: 'GET', url: '/bootstrap/auth/status', token: admin.token });
    expect(authenticated.json().firstAdminEmail).toBe(admin.email);
  });

  it('accepts the generated password for login', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/auth/sessions',
      json: { email: admin.email, password: admin.password },
    });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('stores only a scrypt hash of the password', async () => {
    const rows = await t.orm.em.getConnection().execute('select password_hash from users');
    expect(rows).toHaveLength(1);
    const hash: string = rows[0].password_hash;
    expect(hash.startsWith('scrypt$')).toBe(true);
    expect(hash).not.toContain(admin.password);
  });

  it('refuses a second first-admin with 409 CONFLICT and changes nothing', async () => {
    const before = await t.orm.em.getConnection().execute('select id, email, password_hash from users');
    const res = await t.request({
      method: 'POST',
      url: '/bootstrap/auth/first-admin',
      json: { email: 'mallory@example.com', displayName: 'Mallory' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CONFLICT', retryable: false });
    expect(res.json()).not.toHaveProperty('generatedPassword');
    expect(await countRows(t, 'users')).toBe(1);
    expect(await countRows(t, 'organizations')).toBe(1);
    expect(await t.orm.em.getConnection().execute('select id, email, password_hash from users')).toEqual(before);
    const login = await t.request({
      method: 'POST',
      url: '/auth/sessions',
      json: { email: admin.email, password: admin.password },
    });
    expect(login.statusCode).toBe(201);
  });

  it('answers the current context: user, owner of one organization, every permission', async () => {
    const res = await t.request({ method: 'GET', url: '/organizations/current-context', token: admin.token });
    expect(res.statusCode, res.body).toBe(200);
    const context = res.json();
    expect(context.user).toEqual({
      userId: admin.userId,
      email: admin.email,
      displayName: 'Ada Lovelace',
      avatarUrl: null,
    });
    expect(context.currentOrganization).toMatchObject({
      organizationId: admin.organizationId,
      slug: 'default',
      role: 'owner',
    });
    expect(context.organizations).toHaveLength(1);
    expect(context.organizations[0]).toEqual(context.currentOrganization);
    const permissions = Object.values(context.permissions);
    expect(permissions.length).toBeGreaterThan(0);
    expect(permissions.every((p) => p === true)).toBe(true);
  });

  it('requires a token for the current context', async () => {
    const res = await t.request({ method: 'GET', url: '/organizations/current-context' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHORIZED');
  });

  it('never writes the generated password or the session token to the logs', async () => {
    // A few more requests carrying the secrets, including failing ones, before scanning.
    await t.request({ method: 'GET', url: '/organizations/current-context', token: admin.token });
    await t.request({ method: 'GET', url: '/projects/prj-missing', token: admin.token });
    await t.request({ method: 'POST', url: '/auth/sessions', json: { email: admin.email, password: admin.password } });
    await t.request({
      method: 'POST',
      url: '/auth/sessions',
      json: { email: admin.email, password: admin.password, unknown: true },
    });
    const logs = t.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(admin.password);
    expect(logs).not.toContain(admin.token);
  });
});
