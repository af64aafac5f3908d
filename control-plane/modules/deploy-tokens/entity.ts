import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { DeployTokenScope } from '../identity/auth-context.js';
import { Organization, User } from '../identity/entity.js';

/** Statuses of a deploy token (ENUMS.md deployTokenStatuses). */
export const deployTokenStatuses = ['active', 'revoked'] as const;

/**
 * A long-lived, scoped credential for CI jobs and tools. Like sessions, only the SHA-256 of the secret is stored;
 * `secretSuffix` (its last characters) lets people tell tokens apart.
 */
export const DeployToken = defineEntity({
  name: 'DeployToken',
  tableName: 'deploy_tokens',
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    createdBy: () => p.manyToOne(User).ref().nullable().deleteRule('set null'),
    displayName: p.string().length(100),
    tokenHash: p.string().length(64).unique(),
    secretSuffix: p.string().length(8),
    scope: p.json<DeployTokenScope>(),
    status: p.enum([...deployTokenStatuses]).default('active'),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    lastUsedAt: p.datetime().nullable(),
    rotatedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type DeployToken = InferEntity<typeof DeployToken>;
