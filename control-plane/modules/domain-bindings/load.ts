import type { EntityManager } from '@mikro-orm/postgresql';
import { notFound } from '../../../shared/errors.js';
import type { Caller } from '../identity/auth-context.js';
import { requireInScope } from '../identity/token-scope.js';
import { DomainBinding } from './entity.js';

/** A live (not deleted) binding of the caller's organization, or NOT_FOUND; deploy tokens see only their scope. */
export async function loadBinding(
  em: EntityManager,
  auth: Caller,
  domainBindingId: string,
  field = 'domainBindingId',
): Promise<DomainBinding> {
  const binding = await em.findOne(DomainBinding, {
    id: domainBindingId,
    organization: auth.organizationId,
    deletedAt: null,
  });
  if (binding === null) throw notFound('Domain binding', domainBindingId, field);
  requireInScope(
    auth,
    { projectId: binding.project.id, environmentId: binding.environment.id, resourceId: binding.resource.id },
    `domain binding "${domainBindingId}"`,
  );
  return binding;
}
