import type { EntityManager } from '@mikro-orm/postgresql';
import type { DomainBinding } from '../domain-bindings/entity.js';

/** The servers a binding is served on; the domain-bindings module decides (edge-source.ts `bindingServerIds`). */
export type BindingServers = (em: EntityManager, binding: DomainBinding) => Promise<string[]>;
