import type { EntityManager } from '@mikro-orm/postgresql';
import type { DomainBinding } from '../domain-bindings/entity.js';
import { ServerDesiredState } from '../runtime/entity.js';

/** The servers a binding is served on (the domain-bindings module decides). */
export type BindingServers = (em: EntityManager, binding: DomainBinding) => Promise<string[]>;

/**
 * The binding's own server, else the servers of its organization whose desired state names its resource. Stands in
 * for the domain-bindings module's edge source until the composition passes that one.
 */
export const serversOfBinding: BindingServers = async (em, binding) => {
  if (binding.server) return [binding.server.id];
  const states = await em.find(ServerDesiredState, { server: { organization: binding.organization.id } });
  return states
    .filter((s) => s.document.runtimes.some((r) => r.resourceId === binding.resource.id))
    .map((s) => s.server.id)
    .sort();
};
