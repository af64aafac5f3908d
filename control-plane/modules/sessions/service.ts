import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import type { AuthContext } from '../identity/auth-context.js';
import { Membership, User } from '../identity/entity.js';
import { decoyHash, verifyPassword } from '../identity/password.js';
import { LoginFailure, Session } from './entity.js';

// lastActiveAt is written at most this often, so reads do not turn into a write per request.
const activityResolutionMs = 60_000;
const tokenPrefix = 'berth_s_';

/** Dependencies of {@link createSessionService}. */
export interface SessionServiceOptions {
  now: Clock;
  sessionTtlHours: number;
  loginMaxFailures: number;
  loginWindowSeconds: number;
}

/** Who is logging in, and from where. */
export interface LoginInput {
  email: string;
  password: string;
  clientKind?: string | undefined;
  displayName?: string | undefined;
  ipAddress: string;
  userAgent?: string | undefined;
}

/** SHA-256 of a bearer token, the only form in which tokens are stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const invalidCredentials = () =>
  new AppError('unauthenticated', 'The email or password is wrong.', {
    hint: 'The first admin received a generated password from POST /bootstrap/auth/first-admin.',
  });

/** Login with email and password, bearer-token authentication, and the caller's session list. */
export function createSessionService(options: SessionServiceOptions) {
  const { now } = options;

  async function refuseIfRateLimited(em: EntityManager, key: string, at: Date): Promise<void> {
    const windowStart = new Date(at.getTime() - options.loginWindowSeconds * 1000);
    const failures = await em.find(
      LoginFailure,
      { key, failedAt: { $gte: windowStart } },
      { orderBy: { failedAt: 'desc' }, limit: options.loginMaxFailures },
    );
    if (failures.length < options.loginMaxFailures) return;
    const oldestCounted = failures[failures.length - 1]!.failedAt.getTime();
    const retryAfterSeconds = Math.max(
      1,
      Math.ceil((oldestCounted + options.loginWindowSeconds * 1000 - at.getTime()) / 1000),
    );
    throw new AppError('rate_limited', 'Too many failed logins for this email from this address.', {
      hint: `Wait ${retryAfterSeconds} seconds before trying again.`,
      retryAfterSeconds,
    });
  }

  async function recordFailure(em: EntityManager, key: string, at: Date): Promise<void> {
    const windowStart = new Date(at.getTime() - options.loginWindowSeconds * 1000);
    await em.nativeDelete(LoginFailure, { key, failedAt: { $lt: windowStart } });
    await em.insert(LoginFailure, { key, failedAt: at });
  }

  return {
    /** Checks the password and opens a session; the token is returned here once and stored only as a hash. */
    async login(em: EntityManager, input: LoginInput) {
      const at = now();
      const email = input.email.trim().toLowerCase();
      const key = `${email}|${input.ipAddress}`;
      // Attempts for one key run one at a time, so a burst of parallel guesses cannot all pass the count before
      // any failure is recorded. The failure is committed before the error is thrown.
      const user = await em.transactional(async (tx) => {
        await tx.execute('select pg_advisory_xact_lock(hashtext(?))', [key]);
        await refuseIfRateLimited(tx, key, at);
        const found = await tx.findOne(User, { email });
        const ok = await verifyPassword(input.password, found?.passwordHash ?? (await decoyHash()));
        if (found !== null && ok) return found;
        await recordFailure(tx, key, at);
        return null;
      });
      if (user === null) throw invalidCredentials();
      const membership = await em.findOne(Membership, { user: user.id }, { orderBy: { joinedAt: 'asc' } });
      if (membership === null) {
        throw new AppError('forbidden_role', 'This user belongs to no organization.', {
          hint: 'Ask an organization admin to invite you.',
        });
      }
      await em.nativeDelete(LoginFailure, { key });
      const token = tokenPrefix + randomBytes(32).toString('base64url');
      const session = em.create(Session, {
        id: newId('session'),
        user: user.id,
        organization: membership.organization.id,
        tokenHash: hashToken(token),
        clientKind: input.clientKind ?? 'api',
        displayName: input.displayName ?? null,
        ipAddress: input.ipAddress,
        userAgent: input.userAgent?.slice(0, 500) ?? null,
        createdAt: at,
        expiresAt: new Date(at.getTime() + options.sessionTtlHours * 3600 * 1000),
        lastActiveAt: at,
        revokedAt: null,
      });
      await em.flush();
      return { sessionId: session.id, token, expiresAt: session.expiresAt.toISOString() };
    },

    /** The caller behind a bearer token, or `UNAUTHORIZED` saying why not (unknown, expired or revoked). */
    async authenticate(em: EntityManager, token: string): Promise<AuthContext> {
      const at = now();
      const session = token.startsWith(tokenPrefix) ? await em.findOne(Session, { tokenHash: hashToken(token) }) : null;
      const hint = 'Log in again with POST /auth/sessions and send "Authorization: Bearer <token>".';
      if (session === null) throw new AppError('unauthenticated', 'The bearer token is not valid.', { hint });
      if (session.revokedAt !== null) throw new AppError('unauthenticated', 'The session has been revoked.', { hint });
      if (session.expiresAt <= at) throw new AppError('unauthenticated', 'The session has expired.', { hint });
      const membership = await em.findOne(Membership, { user: session.user.id, organization: session.organization.id });
      if (membership === null) {
        throw new AppError('unauthenticated', 'The session no longer has access to its organization.', { hint });
      }
      if (at.getTime() - session.lastActiveAt.getTime() > activityResolutionMs) {
        await em.nativeUpdate(Session, { id: session.id }, { lastActiveAt: at });
      }
      return {
        kind: 'user',
        userId: session.user.id,
        sessionId: session.id,
        organizationId: session.organization.id,
        role: membership.role,
      };
    },

    /** The caller's sessions that are neither revoked nor expired, newest first. */
    async list(em: EntityManager, auth: AuthContext) {
      const sessions = await em.find(
        Session,
        { user: auth.userId, revokedAt: null, expiresAt: { $gt: now() } },
        { orderBy: { createdAt: 'desc', id: 'desc' } },
      );
      return {
        items: sessions.map((s) => ({
          sessionId: s.id,
          userId: s.user.id,
          clientKind: s.clientKind,
          displayName: s.displayName ?? null,
          createdAt: s.createdAt.toISOString(),
          expiresAt: s.expiresAt.toISOString(),
          ipAddress: s.ipAddress ?? null,
          userAgent: s.userAgent ?? null,
          current: s.id === auth.sessionId,
          lastActiveAt: s.lastActiveAt.toISOString(),
        })),
        nextCursor: null,
      };
    },

    /** Revokes one of the caller's sessions (the current one included); repeating it answers the same time. */
    async revoke(em: EntityManager, auth: AuthContext, sessionId: string) {
      const session = await em.findOne(Session, { id: sessionId, user: auth.userId });
      if (session === null)
        throw new AppError('not_found', `Session "${sessionId}" was not found.`, { field: 'sessionId' });
      session.revokedAt ??= now();
      await em.flush();
      return { sessionId: session.id, revokedAt: session.revokedAt.toISOString() };
    },
  };
}

/** The session service's type. */
export type SessionService = ReturnType<typeof createSessionService>;
