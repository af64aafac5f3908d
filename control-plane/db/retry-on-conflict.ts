import { OptimisticLockError } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** Attempts of one write when the row (optimistically locked) keeps changing under it. */
const maxConflictAttempts = 5;

/**
 * Runs `operation` again on a fresh read when an optimistically locked row changed between its read and its write:
 * an agent's result recorded meanwhile, or another request. Each attempt must be one flush, so a refused one left
 * nothing half-written. Only for an `em` that is not inside a caller's transaction (it is cleared between attempts).
 */
export async function retryOnConflict<T>(em: EntityManager, operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof OptimisticLockError) || attempt >= maxConflictAttempts) throw error;
      em.clear();
    }
  }
}
