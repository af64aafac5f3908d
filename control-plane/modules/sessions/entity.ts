import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization, User } from '../identity/entity.js';

/**
 * A login session. The bearer token itself is never stored: only its SHA-256, which is enough to find the session
 * and useless to whoever reads the database.
 */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.string().primary(),
    user: () => p.manyToOne(User).ref().deleteRule('cascade'),
    // The organization the session acts in (the "current organization" of the seed's context endpoints).
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    tokenHash: p.string().length(64).unique(),
    clientKind: p.string().length(20),
    displayName: p.string().length(100).nullable(),
    ipAddress: p.string().length(64).nullable(),
    userAgent: p.string().length(500).nullable(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    lastActiveAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
  },
});
export type Session = InferEntity<typeof Session>;

/** One failed login, kept for the rate-limit window so that every replica sees the same count. */
export const LoginFailure = defineEntity({
  name: 'LoginFailure',
  tableName: 'login_failures',
  indexes: [{ properties: ['key', 'failedAt'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    // `<lower-cased email>|<client address>`
    key: p.string().length(400),
    failedAt: p.datetime(),
  },
});
export type LoginFailure = InferEntity<typeof LoginFailure>;
