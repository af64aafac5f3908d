import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../shared/ids.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { Membership, User } from '../identity/entity.js';
import { hashPassword } from '../identity/password.js';

type Admin = Awaited<ReturnType<TestApp['bootstrap']>>;

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2030-01-01T00:00:00.000Z')) {
  let nowMs = start;
  return {
    clock: () => new Date(nowMs),
    advance(ms: number) {
      nowMs += ms;
    },
  };
}

async function login(t: TestApp, email: string, password: string, extra: Record<string, unknown> = {}) {
  return t.request({ method: 'POST', url: '/auth/sessions', json: { email, password, ...extra } });
}

async function loginOk(t: TestApp, email: string, password: string): Promise<{ sessionId: string; token: string }> {
  const res = await login(t, email, password);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** Adds a second member to the admin's organization straight in the database (there is no invite route yet). */
async function addMember(t: TestApp, organizationId: string, email: string, password: string): Promise<string> {
  const em = t.orm.em.fork();
  const at = new Date();
  const user = em.create(User, {
    id: newId('user'),
    email,
    displayName: 'Bob',
    passwordHash: await hashPassword(password),
    createdAt: at,
    updatedAt: at,
  });
  em.create(Membership, { id: newId('membership'), organization: organizationId, user, role: 'member', joinedAt: at });
  await em.flush();
  return user.id;
}

describe('login', () => {
  let t: TestApp;
  let admin: Admin;
  beforeAll(async () => {
    t = await buildTestApp();
    admin = await t.bootstrap();
  });
  afterAll(async () => t?.close());

  it('answers 201 with sessionId, token and expiresAt, and the same token in set-auth-token', async () => {
    const res = await login(t, admin.email, admin.password);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'sessionId', 'token']);
    expect(body.sessionId).toMatch(/^ses-/);
    expect(typeof body.token).toBe('string');
    expect(body.token.length).toBeGreaterThan(20);
    expect(new Date(body.expiresAt).toISOString()).toBe(body.expiresAt);
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
    expect(res.headers['set-auth-token']).toBe(body.token);
  });

  it('accepts the same login at POST /auth/sign-in/email', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/auth/sign-in/email',
      json: { email: admin.email, password: admin.password },
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'sessionId', 'token']);
    expect(res.headers['set-auth-token']).toBe(body.token);
    expect((await t.request({ method: 'GET', url: '/projects', token: body.token })).statusCode).toBe(200);
  });

  it('gives a token that authorizes GET /projects', async () => {
    const { token } = await loginOk(t, admin.email, admin.password);
    const res = await t.request({ method: 'GET', url: '/projects', token });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toHaveProperty('items');
    expect((await t.request({ method: 'GET', url: '/projects' })).statusCode).toBe(401);
  });

  it('ignores the letter case of the email', async () => {
    const res = await login(t, 'ADA@Example.Com', admin.password);
    expect(res.statusCode, res.body).toBe(201);
  });

  it('answers a wrong password and an unknown email with the same 401 (no user enumeration)', async () => {
    const wrongPassword = await login(t, admin.email, `${admin.password}x`);
    const unknownEmail = await login(t, 'nobody@example.com', admin.password);
    for (const res of [wrongPassword, unknownEmail]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
      expect(res.headers['set-auth-token']).toBeUndefined();
    }
    const { requestId: _a, ...wrong } = wrongPassword.json();
    const { requestId: _b, ...unknown } = unknownEmail.json();
    expect(wrong).toEqual(unknown);
    // A successful login clears the failures, so later tests are not rate limited.
    await loginOk(t, admin.email, admin.password);
  });

  it('refuses a missing password and unknown fields with VALIDATION_ERROR', async () => {
    const missing = await t.request({ method: 'POST', url: '/auth/sessions', json: { email: admin.email } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'password' });
    const extra = await login(t, admin.email, admin.password, { remember: true });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'remember' });
  });

  it('stores only a 64-hex SHA-256 of each token, never the token', async () => {
    const { sessionId, token } = await loginOk(t, admin.email, admin.password);
    const rows: Record<string, unknown>[] = await t.orm.em.getConnection().execute('select * from sessions');
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) expect(row['token_hash']).toMatch(/^[0-9a-f]{64}$/);
    const mine = rows.find((r) => r['id'] === sessionId);
    expect(mine?.['token_hash']).toBe(createHash('sha256').update(token).digest('hex'));
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(-20));
  });
});

describe('login rate limiting', () => {
  const time = manualClock();
  let t: TestApp;
  let admin: Admin;
  beforeAll(async () => {
    t = await buildTestApp({
      env: { BERTH_LOGIN_MAX_FAILURES: '3', BERTH_LOGIN_WINDOW_SECONDS: '60' },
      clock: time.clock,
    });
    admin = await t.bootstrap();
  });
  afterAll(async () => t?.close());

  it('refuses even the right password with 429 RATE_LIMITED and Retry-After after the maximum failures', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await login(t, admin.email, 'wrong-password')).statusCode).toBe(401);
    }
    const res = await login(t, admin.email, admin.password);
    expect(res.statusCode, res.body).toBe(429);
    expect(res.json()).toMatchObject({ code: 'RATE_LIMITED', retryable: true, category: 'retryable' });
    expect(res.headers['set-auth-token']).toBeUndefined();
    const retryAfter = String(res.headers['retry-after']);
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  });

  it('counts Retry-After down as the window passes', async () => {
    time.advance(30_000);
    const res = await login(t, admin.email, admin.password);
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBe(30);
  });

  it('does not limit a different email from the same address', async () => {
    const res = await login(t, 'someone-else@example.com', 'wrong-password');
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHORIZED');
  });

  it('does not limit the same email from a different address', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/sessions',
      remoteAddress: '10.1.2.3',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: admin.email, password: admin.password }),
    });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('lets no more than the maximum of a burst of parallel wrong passwords through to a password check', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 12 }, () => login(t, 'burst@example.com', 'wrong-password').then((r) => r.statusCode)),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
  });

  it('accepts the right password again once the window has passed', async () => {
    time.advance(31_000);
    const res = await login(t, admin.email, admin.password);
    expect(res.statusCode, res.body).toBe(201);
    // The success cleared the count: one new failure does not lock the account.
    expect((await login(t, admin.email, 'wrong-password')).statusCode).toBe(401);
    expect((await login(t, admin.email, admin.password)).statusCode).toBe(201);
  });
});

describe('account sessions', () => {
  const time = manualClock();
  let t: TestApp;
  let admin: Admin;
  beforeAll(async () => {
    t = await buildTestApp({ env: { BERTH_SESSION_TTL_HOURS: '2' }, clock: time.clock });
    admin = await t.bootstrap();
  });
  afterAll(async () => t?.close());

  it("lists the caller's sessions, marks only the caller's own as current and never shows a token", async () => {
    const other = await loginOk(t, admin.email, admin.password);
    const res = await t.request({ method: 'GET', url: '/account/sessions', token: admin.token });
    expect(res.statusCode, res.body).toBe(200);
    const { items, nextCursor } = res.json();
    expect(nextCursor).toBeNull();
    expect(items.length).toBeGreaterThanOrEqual(2);
    const current = items.filter((s: { current: boolean }) => s.current);
    expect(current).toHaveLength(1);
    const ids = items.map((s: { sessionId: string }) => s.sessionId);
    expect(ids).toContain(other.sessionId);
    expect(items.find((s: { sessionId: string }) => s.sessionId === other.sessionId).current).toBe(false);
    for (const item of items) {
      expect(item.userId).toBe(admin.userId);
      expect(Object.keys(item)).not.toContain('token');
      expect(Object.keys(item)).not.toContain('tokenHash');
    }
    expect(res.body).not.toContain(admin.token);
    expect(res.body).not.toContain(other.token);

    const fromOther = (await t.request({ method: 'GET', url: '/account/sessions', token: other.token })).json();
    const otherCurrent = fromOther.items.filter((s: { current: boolean }) => s.current);
    expect(otherCurrent.map((s: { sessionId: string }) => s.sessionId)).toEqual([other.sessionId]);
  });

  it('revokes another of your sessions: its token gets 401 "revoked", yours still works', async () => {
    const victim = await loginOk(t, admin.email, admin.password);
    const res = await t.request({
      method: 'POST',
      url: `/account/sessions/${victim.sessionId}/revoke`,
      token: admin.token,
      json: {},
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ sessionId: victim.sessionId, revokedAt: time.clock().toISOString() });

    const refused = await t.request({ method: 'GET', url: '/projects', token: victim.token });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('UNAUTHORIZED');
    expect(refused.json().message).toMatch(/revoked/i);
    expect((await t.request({ method: 'GET', url: '/projects', token: admin.token })).statusCode).toBe(200);

    const listed = (await t.request({ method: 'GET', url: '/account/sessions', token: admin.token })).json();
    expect(listed.items.map((s: { sessionId: string }) => s.sessionId)).not.toContain(victim.sessionId);
  });

  it('revokes the current session, so the next request with its token is 401', async () => {
    const own = await loginOk(t, admin.email, admin.password);
    const res = await t.request({
      method: 'POST',
      url: `/account/sessions/${own.sessionId}/revoke`,
      token: own.token,
      json: {},
    });
    expect(res.statusCode, res.body).toBe(200);
    const next = await t.request({ method: 'GET', url: '/account/sessions', token: own.token });
    expect(next.statusCode).toBe(401);
    expect(next.json().message).toMatch(/revoked/i);
  });

  it('answers 404 for an unknown session id', async () => {
    const res = await t.request({
      method: 'POST',
      url: `/account/sessions/${newId('session')}/revoke`,
      token: admin.token,
      json: {},
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND', field: 'sessionId' });
  });

  it("answers 404 for someone else's session and leaves it working", async () => {
    await addMember(t, admin.organizationId, 'bob@example.com', 'bobs-password-1234');
    const bob = await loginOk(t, 'bob@example.com', 'bobs-password-1234');
    const res = await t.request({
      method: 'POST',
      url: `/account/sessions/${bob.sessionId}/revoke`,
      token: admin.token,
      json: {},
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
    expect((await t.request({ method: 'GET', url: '/projects', token: bob.token })).statusCode).toBe(200);
    const adminList = (await t.request({ method: 'GET', url: '/account/sessions', token: admin.token })).json();
    expect(adminList.items.map((s: { sessionId: string }) => s.sessionId)).not.toContain(bob.sessionId);
  });

  it('refuses a session once BERTH_SESSION_TTL_HOURS have passed, saying it expired', async () => {
    const session = await loginOk(t, admin.email, admin.password);
    time.advance(2 * 3600 * 1000 - 60_000);
    expect((await t.request({ method: 'GET', url: '/projects', token: session.token })).statusCode).toBe(200);
    time.advance(2 * 60_000);
    const res = await t.request({ method: 'GET', url: '/projects', token: session.token });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHORIZED');
    expect(res.json().message).toMatch(/expired/i);
  });
});
