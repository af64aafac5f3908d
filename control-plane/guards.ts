import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../shared/errors.js';

/**
 * Flushes, turning a violation of a `*_name_key_unique` constraint (names unique per organization) into the clear
 * `CONFLICT` that `conflict` builds; any other failure stays what it was.
 */
export async function flushUniqueName(em: EntityManager, conflict: () => AppError): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException && /name_key/.test(error.message)) throw conflict();
    throw error;
  }
}

/**
 * Destructive operations repeat the id of what they destroy in `confirmation.<idField>`; a different value is a
 * `VALIDATION_ERROR` whose hint shows the body to send.
 */
export function requireConfirmation(idField: string, expected: string, confirmed: string, what: string): void {
  if (confirmed === expected) return;
  throw new AppError('validation_failed', `The confirmation does not match the ${what}.`, {
    field: `confirmation.${idField}`,
    hint: `Send {"confirmation": {"${idField}": "${expected}"}} to confirm.`,
  });
}
