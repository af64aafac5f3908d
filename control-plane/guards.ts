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
  throw confirmationMismatch(`confirmation.${idField}`, `{"confirmation": {"${idField}": "${expected}"}}`, what);
}

/** The same check for the seed's deployment calls (cancel, archive), which repeat the id in a top-level `confirm`. */
export function requireConfirm(expected: string, confirmed: string, what: string): void {
  if (confirmed === expected) return;
  throw confirmationMismatch('confirm', `{"confirm": "${expected}"}`, what);
}

function confirmationMismatch(field: string, body: string, what: string): AppError {
  return new AppError('validation_failed', `The confirmation does not match the ${what}.`, {
    field,
    hint: `Send ${body} to confirm.`,
  });
}

/** One reason a delete-check answers `eligible: false`. */
export interface DeleteBlocker {
  kind: string;
  relatedEntityId: string;
  relatedEntityType: string;
  count: number;
}

/** The delete-check answer about a `T` (`projectId`, `lifecycleStatus`, … for `'project'`). */
export type DeleteCheck<V extends string, T extends string, S extends string> = { schemaVersion: V } & {
  [K in `${T}Id`]: string;
} & { lifecycleStatus: S; eligible: boolean; blockers: DeleteBlocker[]; checkedAt: string };

/**
 * The delete-check of a project or a server: only one taken out of service (archived, deactivated) may be deleted,
 * so an active one is blocked by itself (`active-<type>`).
 */
export function lifecycleDeleteCheck<V extends string, T extends string, S extends string>(
  schemaVersion: V,
  type: T,
  entity: { id: string; lifecycleStatus: S },
  checkedAt: Date,
): DeleteCheck<V, T, S> {
  const blockers: DeleteBlocker[] =
    entity.lifecycleStatus === 'active'
      ? [{ kind: `active-${type}`, relatedEntityId: entity.id, relatedEntityType: type, count: 1 }]
      : [];
  return {
    schemaVersion,
    [`${type}Id`]: entity.id,
    lifecycleStatus: entity.lifecycleStatus,
    eligible: blockers.length === 0,
    blockers,
    checkedAt: checkedAt.toISOString(),
  } as DeleteCheck<V, T, S>;
}
