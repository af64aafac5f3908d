import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { requireConfirmation } from '../../guards.js';
import type { AuthContext, DeployTokenCaller, DeployTokenScope } from '../identity/auth-context.js';
import { permissionsOf } from '../identity/auth-context.js';
import { hashToken } from '../sessions/service.js';
import { DeployToken } from './entity.js';

const tokenPrefix = 'berth_d_';
const defaultLifetimeDays = 90;
// lastUsedAt is written at most this often, so CI loops do not turn every read into a write.
const usageResolutionMs = 60_000;

/** Dependencies of {@link createDeployTokenService}. */
export interface DeployTokenServiceOptions {
  now: Clock;
}

/** True when `token` has the deploy-token shape (the auth hook routes on it). */
export function isDeployToken(token: string): boolean {
  return token.startsWith(tokenPrefix);
}

function newSecret(): { token: string; hash: string; suffix: string } {
  const token = tokenPrefix + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token), suffix: token.slice(-6) };
}

function scopeOf(input: Partial<DeployTokenScope> & { workflowCommands: string[] }): DeployTokenScope {
  return {
    deploymentTargetIds: input.deploymentTargetIds ?? [],
    environmentIds: input.environmentIds ?? [],
    projectIds: input.projectIds ?? [],
    repositoryFullNames: input.repositoryFullNames ?? [],
    resourceIds: input.resourceIds ?? [],
    workflowCommands: input.workflowCommands,
  };
}

/** The seed's deploy-token read model; never the secret. */
export function toDeployTokenView(token: DeployToken) {
  return {
    tokenId: token.id,
    organizationId: token.organization.id,
    displayName: token.displayName,
    status: token.status,
    secretSuffix: token.secretSuffix,
    scope: token.scope,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt.toISOString(),
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    rotatedAt: token.rotatedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
  };
}

/** Deploy tokens: scoped, long-lived credentials for CI, managed by organization owners and admins. */
export function createDeployTokenService({ now }: DeployTokenServiceOptions) {
  // Tokens belong to the caller's organization; managing them takes the owner or admin role.
  function requireManager(auth: AuthContext, organizationId: string): void {
    if (organizationId !== auth.organizationId) {
      throw new AppError('not_found', `Organization "${organizationId}" was not found.`, {
        field: 'organizationId',
        hint: 'Use the organizationId of GET /organizations/current-context.',
      });
    }
    if (!permissionsOf(auth.role).canManageDeployTokens) {
      throw new AppError('forbidden_role', 'Only organization owners and admins manage deploy tokens.');
    }
  }

  async function load(em: EntityManager, auth: AuthContext, organizationId: string, tokenId: string) {
    requireManager(auth, organizationId);
    const token = await em.findOne(DeployToken, { id: tokenId, organization: organizationId });
    if (token === null)
      throw new AppError('not_found', `Deploy token "${tokenId}" was not found.`, { field: 'tokenId' });
    return token;
  }

  return {
    async list(
      em: EntityManager,
      auth: AuthContext,
      query: {
        organizationId: string;
        status?: 'active' | 'revoked';
        resourceId?: string;
        repositoryFullName?: string;
        limit?: number;
      },
    ) {
      requireManager(auth, query.organizationId);
      const tokens = await em.find(
        DeployToken,
        { organization: query.organizationId, ...(query.status ? { status: query.status } : {}) },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
      const matches = tokens.filter(
        (t) =>
          (query.resourceId === undefined || t.scope.resourceIds.includes(query.resourceId)) &&
          (query.repositoryFullName === undefined || t.scope.repositoryFullNames.includes(query.repositoryFullName)),
      );
      return { items: matches.slice(0, query.limit ?? 100).map(toDeployTokenView) };
    },

    async show(em: EntityManager, auth: AuthContext, organizationId: string, tokenId: string) {
      return toDeployTokenView(await load(em, auth, organizationId, tokenId));
    },

    /** Creates a token; the secret is in this answer only. */
    async create(
      em: EntityManager,
      auth: AuthContext,
      input: { organizationId: string; displayName: string; scope: Parameters<typeof scopeOf>[0]; expiresAt?: string },
    ) {
      requireManager(auth, input.organizationId);
      const at = now();
      const expiresAt = input.expiresAt
        ? new Date(input.expiresAt)
        : new Date(at.getTime() + defaultLifetimeDays * 86_400_000);
      if (expiresAt <= at) {
        throw new AppError('validation_failed', 'Body field "expiresAt" must be in the future.', {
          field: 'expiresAt',
        });
      }
      const secret = newSecret();
      const token = em.create(DeployToken, {
        id: newId('deployToken'),
        organization: input.organizationId,
        createdBy: auth.userId,
        displayName: input.displayName.trim(),
        tokenHash: secret.hash,
        secretSuffix: secret.suffix,
        scope: scopeOf(input.scope),
        status: 'active',
        createdAt: at,
        expiresAt,
        lastUsedAt: null,
        rotatedAt: null,
        revokedAt: null,
      });
      await em.flush();
      const {
        scope,
        status: _status,
        lastUsedAt: _l,
        rotatedAt: _r,
        revokedAt: _v,
        ...view
      } = toDeployTokenView(token);
      return { ...view, token: secret.token, scopes: scope };
    },

    /** Replaces the secret; the old one stops working at once. */
    async rotate(
      em: EntityManager,
      auth: AuthContext,
      tokenId: string,
      input: { organizationId: string; confirmation: { tokenId: string } },
    ) {
      requireConfirmation('tokenId', tokenId, input.confirmation.tokenId, 'deploy token');
      const token = await load(em, auth, input.organizationId, tokenId);
      if (token.status === 'revoked') {
        throw new AppError('conflict', `Deploy token "${tokenId}" is revoked and cannot be rotated.`, {
          hint: 'Create a new deploy token with POST /deploy-tokens.',
        });
      }
      const secret = newSecret();
      token.tokenHash = secret.hash;
      token.secretSuffix = secret.suffix;
      token.rotatedAt = now();
      await em.flush();
      return { tokenId: token.id, token: secret.token, rotatedAt: token.rotatedAt.toISOString(), scopes: token.scope };
    },

    /** Revokes the token for good; repeating it answers the same time. */
    async revoke(
      em: EntityManager,
      auth: AuthContext,
      tokenId: string,
      input: { organizationId: string; confirmation: { tokenId: string } },
    ) {
      requireConfirmation('tokenId', tokenId, input.confirmation.tokenId, 'deploy token');
      const token = await load(em, auth, input.organizationId, tokenId);
      token.status = 'revoked';
      token.revokedAt ??= now();
      await em.flush();
      return { tokenId: token.id, revokedAt: token.revokedAt.toISOString() };
    },

    /** The caller behind a deploy token, or `UNAUTHORIZED` saying why not. */
    async authenticate(em: EntityManager, secret: string): Promise<DeployTokenCaller> {
      const at = now();
      const token = await em.findOne(DeployToken, { tokenHash: hashToken(secret) });
      const hint = 'Create or rotate a deploy token with POST /deploy-tokens (organization owners and admins).';
      if (token === null) throw new AppError('unauthenticated', 'The deploy token is not valid.', { hint });
      if (token.status === 'revoked')
        throw new AppError('unauthenticated', 'The deploy token has been revoked.', { hint });
      if (token.expiresAt <= at) throw new AppError('unauthenticated', 'The deploy token has expired.', { hint });
      if (!token.lastUsedAt || at.getTime() - token.lastUsedAt.getTime() > usageResolutionMs) {
        await em.nativeUpdate(DeployToken, { id: token.id }, { lastUsedAt: at });
      }
      return {
        kind: 'deploy-token',
        tokenId: token.id,
        displayName: token.displayName,
        organizationId: token.organization.id,
        scope: token.scope,
      };
    },
  };
}

/** The deploy-token service's type. */
export type DeployTokenService = ReturnType<typeof createDeployTokenService>;
