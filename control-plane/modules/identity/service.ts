import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import { slugify } from '../../../shared/slug.js';
import type { Clock } from '../../../shared/time.js';
import { type AuthContext, type Caller, deployTokenPermissions, loginMethods, permissionsOf } from './auth-context.js';
import { Membership, Organization, User } from './entity.js';
import { generatePassword, hashPassword, verifyPassword } from './password.js';
import { organizationSlugPattern, passwordPolicy } from './schema.js';

// Serialises concurrent first-admin requests: exactly one of them creates the admin.
const bootstrapLockId = 5_140_002;

/** What `POST /bootstrap/auth/first-admin` accepts. */
export interface FirstAdminInput {
  email: string;
  displayName: string;
  password?: string;
  organizationName?: string;
  organizationSlug?: string;
  idempotencyKey?: string;
}

// The request after trimming and defaults, refused field by field with a hint; the password is checked, never shown.
function normalizeFirstAdmin(body: FirstAdminInput) {
  const displayName = body.displayName.trim();
  if (displayName === '') {
    throw new AppError('validation_failed', 'Body field "displayName" must not be empty.', { field: 'displayName' });
  }
  if (body.password !== undefined) {
    const length = [...body.password].length;
    if (length < passwordPolicy.minLength || length > passwordPolicy.maxLength) {
      throw new AppError(
        'validation_failed',
        `Body field "password" must have ${passwordPolicy.minLength} to ${passwordPolicy.maxLength} characters.`,
        {
          field: 'password',
          hint: `Choose a password of at least ${passwordPolicy.minLength} characters (a passphrase of a few words works), or leave it out to have one generated.`,
        },
      );
    }
  }
  const organizationName = body.organizationName?.trim() || 'Default organization';
  const organizationSlug =
    body.organizationSlug ?? (body.organizationName ? slugify(organizationName, 'default') : 'default');
  if (!new RegExp(organizationSlugPattern).test(organizationSlug)) {
    throw new AppError('validation_failed', 'Body field "organizationSlug" is not a valid slug.', {
      field: 'organizationSlug',
      hint: 'Use lower-case letters, digits and single hyphens, not at the start or end (for example "acme-labs").',
    });
  }
  return {
    email: body.email.trim().toLowerCase(),
    displayName,
    organizationName,
    organizationSlug,
    idempotencyKey: body.idempotencyKey,
  };
}

// What an idempotent repeat must match (the password is compared against the stored hash, never hashed here).
function requestHashOf(input: ReturnType<typeof normalizeFirstAdmin>, passwordChosen: boolean): string {
  const fields = [input.email, input.displayName, input.organizationName, input.organizationSlug, passwordChosen];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

// The first admin created under `idempotencyKey`, with the organization it owns, if any.
async function replayOf(em: EntityManager, idempotencyKey: string) {
  const user = await em.findOne(User, { bootstrapIdempotencyKey: idempotencyKey });
  if (user === null) return null;
  const membership = await em.findOne(
    Membership,
    { user: user.id, role: 'owner' },
    { populate: ['organization'], orderBy: { joinedAt: 'asc' } },
  );
  return membership === null ? null : { user, organization: membership.organization.getEntity() };
}

/** Dependencies of {@link createIdentityService}. */
export interface IdentityServiceOptions {
  now: Clock;
  /** The API's public base URL (known only once the server listens). */
  publicUrl: () => string;
}

/** Bootstrap of the first admin and the caller's organization context. */
export function createIdentityService({ now, publicUrl }: IdentityServiceOptions) {
  const loginUrl = () => `${publicUrl()}/auth/sessions`;
  // The first-admin answer, the same for the request that created the admin and for an idempotent repeat.
  const resultOf = (user: User, organization: Organization) => ({
    bootstrapRequired: false,
    created: true,
    email: user.email,
    loginMethods: loginMethods(true),
    organizationId: organization.id,
    organizationSlug: organization.slug,
    userId: user.id,
    loginUrl: loginUrl(),
  });

  return {
    /** Whether the instance still needs its first admin; the admin's email only for an authenticated caller. */
    async bootstrapStatus(em: EntityManager, caller: AuthContext | null) {
      const [admin] = await em.find(User, {}, { orderBy: { createdAt: 'asc' }, limit: 1 });
      const [organization] = await em.find(Organization, {}, { orderBy: { createdAt: 'asc' }, limit: 1 });
      return {
        bootstrapRequired: admin === undefined,
        firstAdminConfigured: admin !== undefined,
        organizationConfigured: organization !== undefined,
        loginMethods: loginMethods(admin !== undefined),
        firstAdminEmail: caller !== null && admin !== undefined ? admin.email : null,
        loginUrl: loginUrl(),
        organizationId: organization?.id ?? null,
        organizationSlug: organization?.slug ?? null,
        nextSteps:
          admin === undefined
            ? [
                'Create the first admin: POST /bootstrap/auth/first-admin with {"email", "displayName"} and optionally ' +
                  '"password" (else one is generated and shown once).',
              ]
            : ['Log in: POST /auth/sessions with {"email", "password"}.', 'Create a project: POST /projects.'],
      };
    },

    /**
     * Creates the first admin, its organization and owner membership; `CONFLICT` once one exists. A chosen password
     * is checked against the policy and never echoed; without one a password is generated and returned this once.
     * With an idempotency key, repeating the same request answers the first answer again.
     */
    async createFirstAdmin(em: EntityManager, body: FirstAdminInput) {
      const input = normalizeFirstAdmin(body);
      const chosen = body.password !== undefined;
      const password = body.password ?? generatePassword();
      const passwordHash = await hashPassword(password);
      const requestHash = requestHashOf(input, chosen);
      const outcome = await em.transactional(async (tx) => {
        // Inside the transaction: an xact lock taken on another pooled connection would be released at once.
        await tx.execute('select pg_advisory_xact_lock(?)', [bootstrapLockId]);
        if ((await tx.count(User, {})) > 0) {
          const replayed = input.idempotencyKey === undefined ? null : await replayOf(tx, input.idempotencyKey);
          if (replayed !== null) return { replayed: true, ...replayed };
          throw new AppError('conflict', 'The first admin already exists.', {
            hint: 'Log in with POST /auth/sessions; ask an admin to invite further users.',
          });
        }
        const at = now();
        const user = tx.create(User, {
          id: newId('user'),
          email: input.email,
          displayName: input.displayName,
          passwordHash,
          bootstrapIdempotencyKey: input.idempotencyKey ?? null,
          bootstrapRequestHash: input.idempotencyKey === undefined ? null : requestHash,
          createdAt: at,
          updatedAt: at,
        });
        const organization = tx.create(Organization, {
          id: newId('organization'),
          name: input.organizationName,
          slug: input.organizationSlug,
          createdAt: at,
          updatedAt: at,
        });
        tx.create(Membership, { id: newId('membership'), organization, user, role: 'owner', joinedAt: at });
        return { replayed: false, user, organization };
      });

      const { user, organization } = outcome;
      if (outcome.replayed) {
        // The same key must carry the same request: the same fields, and the same password when one was chosen.
        const same =
          user.bootstrapRequestHash === requestHash && (!chosen || (await verifyPassword(password, user.passwordHash)));
        if (!same) {
          throw new AppError(
            'idempotency_key_reused',
            'This idempotency key was used for a different first-admin request.',
            {
              field: 'idempotencyKey',
              hint: 'Repeat the first request unchanged, or log in with POST /auth/sessions: the first admin exists.',
            },
          );
        }
        return { replayed: true, result: resultOf(user, organization) };
      }
      return {
        replayed: false,
        result: { ...resultOf(user, organization), ...(chosen ? {} : { generatedPassword: password }) },
      };
    },

    /**
     * The caller, the organization it acts in and what it may do. A user sees every organization they belong to; a
     * deploy token sees only its own organization, no user data, its scope, and no management permissions.
     */
    async currentContext(em: EntityManager, caller: Caller) {
      if (caller.kind === 'deploy-token') {
        const organization = await em.findOne(Organization, caller.organizationId);
        if (organization === null)
          throw new AppError('unauthenticated', 'The deploy token no longer has an organization.');
        const current = {
          organizationId: organization.id,
          name: organization.name,
          slug: organization.slug,
          role: 'deploy-token',
        };
        return {
          user: { userId: null, email: null, displayName: caller.displayName, avatarUrl: null },
          actor: { kind: 'deploy-token' as const, id: caller.tokenId, scope: caller.scope },
          currentOrganization: current,
          organizations: [current],
          loginMethods: loginMethods(true),
          permissions: deployTokenPermissions(),
        };
      }
      const user = await em.findOneOrFail(User, caller.userId);
      const memberships = await em.find(
        Membership,
        { user: caller.userId },
        { populate: ['organization'], orderBy: { joinedAt: 'asc' } },
      );
      const organizations = memberships.map((m) => ({
        organizationId: m.organization.id,
        name: m.organization.getEntity().name,
        slug: m.organization.getEntity().slug,
        role: m.role,
      }));
      const current = organizations.find((o) => o.organizationId === caller.organizationId);
      if (current === undefined) throw new AppError('unauthenticated', 'The session no longer has an organization.');
      return {
        user: { userId: user.id, email: user.email, displayName: user.displayName, avatarUrl: null },
        actor: { kind: 'user' as const, id: user.id },
        currentOrganization: current,
        organizations,
        loginMethods: loginMethods(true),
        permissions: permissionsOf(current.role),
      };
    },
  };
}

/** The identity service's type. */
export type IdentityService = ReturnType<typeof createIdentityService>;
