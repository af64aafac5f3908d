import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { type AuthContext, loginMethods, permissionsOf } from './auth-context.js';
import { Membership, Organization, User } from './entity.js';
import { generatePassword, hashPassword } from './password.js';

// Serialises concurrent first-admin requests: exactly one of them creates the admin.
const bootstrapLockId = 5_140_002;

/** Dependencies of {@link createIdentityService}. */
export interface IdentityServiceOptions {
  now: Clock;
  /** The API's public base URL (known only once the server listens). */
  publicUrl: () => string;
}

/** Bootstrap of the first admin and the caller's organization context. */
export function createIdentityService({ now, publicUrl }: IdentityServiceOptions) {
  const loginUrl = () => `${publicUrl()}/auth/sessions`;

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
            ? ['Create the first admin: POST /bootstrap/auth/first-admin with {"email", "displayName"}.']
            : ['Log in: POST /auth/sessions with {"email", "password"}.', 'Create a project: POST /projects.'],
      };
    },

    /** Creates the first admin, its default organization and owner membership; `CONFLICT` once one exists. */
    async createFirstAdmin(em: EntityManager, input: { email: string; displayName: string }) {
      const password = generatePassword();
      const passwordHash = await hashPassword(password);
      const email = input.email.trim().toLowerCase();
      const displayName = input.displayName.trim();
      if (displayName === '') {
        throw new AppError('validation_failed', 'Body field "displayName" must not be empty.', {
          field: 'displayName',
        });
      }
      const created = await em.transactional(async (tx) => {
        // Inside the transaction: an xact lock taken on another pooled connection would be released at once.
        await tx.execute('select pg_advisory_xact_lock(?)', [bootstrapLockId]);
        if ((await tx.count(User, {})) > 0) {
          throw new AppError('conflict', 'The first admin already exists.', {
            hint: 'Log in with POST /auth/sessions; ask an admin to invite further users.',
          });
        }
        const at = now();
        const user = tx.create(User, {
          id: newId('user'),
          email,
          displayName,
          passwordHash,
          createdAt: at,
          updatedAt: at,
        });
        const organization = tx.create(Organization, {
          id: newId('organization'),
          name: 'Default organization',
          slug: 'default',
          createdAt: at,
          updatedAt: at,
        });
        tx.create(Membership, { id: newId('membership'), organization, user, role: 'owner', joinedAt: at });
        return { user, organization };
      });
      return {
        bootstrapRequired: false,
        created: true,
        email,
        loginMethods: loginMethods(true),
        organizationId: created.organization.id,
        organizationSlug: created.organization.slug,
        userId: created.user.id,
        generatedPassword: password,
        loginUrl: loginUrl(),
      };
    },

    /** The caller, the organization the session acts in, every organization they belong to, and their permissions. */
    async currentContext(em: EntityManager, auth: AuthContext) {
      const user = await em.findOneOrFail(User, auth.userId);
      const memberships = await em.find(
        Membership,
        { user: auth.userId },
        { populate: ['organization'], orderBy: { joinedAt: 'asc' } },
      );
      const organizations = memberships.map((m) => ({
        organizationId: m.organization.id,
        name: m.organization.getEntity().name,
        slug: m.organization.getEntity().slug,
        role: m.role,
      }));
      const current = organizations.find((o) => o.organizationId === auth.organizationId);
      if (current === undefined) throw new AppError('unauthenticated', 'The session no longer has an organization.');
      return {
        user: { userId: user.id, email: user.email, displayName: user.displayName, avatarUrl: null },
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
