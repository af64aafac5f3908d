import type { Knex } from '@mikro-orm/knex';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The query builder for raw SQL that must run inside `em`'s transaction when it has one: `em.getKnex()` alone
 * always uses a fresh pooled connection, which cannot see the transaction's uncommitted rows or locks.
 */
export function knexOf(em: EntityManager): Knex {
  return em.getTransactionContext<Knex.Transaction>() ?? em.getKnex();
}
