import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import type { KeyRing } from '../../secrets/key-ring.js';
import { ConfigEntry, type EntryScope, type VariableExposure, type VariableKind } from './entity.js';

/** What every read shows instead of a secret's value. */
export const maskedValue = '****';
/** Longest value, in characters: enough for a PEM bundle, small enough to keep snapshots and env blocks sane. */
export const maxValueLength = 32_768;

/** Dependencies of {@link createConfigurationService}. */
export interface ConfigurationServiceOptions {
  now: Clock;
  /** Seals secret values on write; opened only to build a deployment's configuration. */
  keyRing: KeyRing;
}

/** Whose entry: an environment's own, or a resource's (which also names its environment). */
export interface EntryOwner {
  organizationId: string;
  environmentId: string;
  resourceId: string | null;
}

/** A value to store. */
export interface EntryInput {
  key: string;
  value: string;
  exposure: VariableExposure;
  kind: VariableKind;
  isSecret: boolean;
}

/** What `POST …/variables` takes, for an environment and a resource alike. */
export interface VariableInput {
  key: string;
  value: string;
  exposure?: VariableExposure;
  kind?: VariableKind;
  isSecret?: boolean;
}

/** A variable as given to `POST …/variables`, as it is stored: runtime unless said otherwise, a secret by kind or flag. */
export function variableEntry(input: VariableInput): EntryInput {
  const isSecret = input.isSecret === true || input.kind === 'secret';
  return {
    key: input.key,
    value: input.value,
    exposure: input.exposure ?? 'runtime',
    kind: isSecret ? 'secret' : (input.kind ?? 'plain-config'),
    isSecret,
  };
}

/** The seed's variable entry, secrets masked. */
export function toEntryView(entry: ConfigEntry) {
  return {
    key: entry.key,
    value: entry.isSecret ? maskedValue : (entry.plainValue ?? ''),
    scope: entry.scope as string,
    exposure: entry.exposure,
    isSecret: entry.isSecret,
    kind: entry.kind as string,
    updatedAt: entry.updatedAt.toISOString(),
  };
}

/** Refuses a value over the documented size, naming the field. */
export function checkValueSize(value: string, field = 'value'): void {
  if (value.length > maxValueLength) {
    throw new AppError(
      'validation_failed',
      `The value is ${value.length} characters long; the limit is ${maxValueLength}.`,
      {
        field,
        hint: 'Store large files in a volume or an image, and keep variables for settings.',
      },
    );
  }
}

/**
 * Variables and secrets of environments and resources. Callers hold a row lock on the owner (environment or
 * resource) in a transaction, so concurrent writes to one owner are applied one after the other and none is lost.
 */
export function createConfigurationService({ now, keyRing }: ConfigurationServiceOptions) {
  const ownerIdOf = (owner: EntryOwner) => owner.resourceId ?? owner.environmentId;
  const scopeOf = (owner: EntryOwner): EntryScope => (owner.resourceId === null ? 'environment' : 'resource');

  return {
    /** Entries owned by an environment or a resource, by key then exposure. */
    async owned(em: EntityManager, ownerId: string): Promise<ConfigEntry[]> {
      return em.find(ConfigEntry, { ownerId }, { orderBy: { key: 'asc', exposure: 'asc', isSecret: 'asc' } });
    },

    /** An environment's entries and a resource's, which together make the resource's configuration. */
    async forResource(em: EntityManager, environmentId: string, resourceId: string): Promise<ConfigEntry[]> {
      return em.find(
        ConfigEntry,
        { ownerId: { $in: [environmentId, resourceId] } },
        { orderBy: { key: 'asc', exposure: 'asc', isSecret: 'asc' } },
      );
    },

    async find(em: EntityManager, ownerId: string, key: string, exposure: VariableExposure, isSecret: boolean) {
      return em.findOne(ConfigEntry, { ownerId, key, exposure, isSecret });
    },

    /**
     * Sets one value. With `replaceOtherKind`, an entry of the same key and exposure but the other secrecy is
     * removed (an environment holds one value per key; an import replaces what was there).
     */
    async set(
      em: EntityManager,
      owner: EntryOwner,
      input: EntryInput,
      options: { replaceOtherKind: boolean },
    ): Promise<{ action: 'created' | 'updated'; replaced: ConfigEntry | null }> {
      checkValueSize(input.value);
      const ownerId = ownerIdOf(owner);
      const at = now();
      let replaced: ConfigEntry | null = null;
      if (options.replaceOtherKind) {
        replaced = await em.findOne(ConfigEntry, {
          ownerId,
          key: input.key,
          exposure: input.exposure,
          isSecret: !input.isSecret,
        });
        if (replaced !== null) em.remove(replaced);
      }
      const sealed = input.isSecret ? keyRing.seal(input.value) : null;
      const plain = input.isSecret ? null : input.value;
      const existing = await em.findOne(ConfigEntry, {
        ownerId,
        key: input.key,
        exposure: input.exposure,
        isSecret: input.isSecret,
      });
      if (existing !== null) {
        existing.kind = input.kind;
        existing.plainValue = plain;
        existing.sealedValue = sealed;
        existing.updatedAt = at;
      } else {
        em.create(ConfigEntry, {
          id: newId('configEntry'),
          organization: owner.organizationId,
          environment: owner.environmentId,
          resource: owner.resourceId,
          scope: scopeOf(owner),
          ownerId,
          key: input.key,
          exposure: input.exposure,
          kind: input.kind,
          isSecret: input.isSecret,
          plainValue: plain,
          sealedValue: sealed,
          createdAt: at,
          updatedAt: at,
        });
      }
      await em.flush();
      return { action: existing === null ? 'created' : 'updated', replaced };
    },

    /** Removes the entries of a key and exposure (only the secret, or only the variable, when `isSecret` is given). */
    async unset(em: EntityManager, ownerId: string, key: string, exposure: VariableExposure, isSecret?: boolean) {
      return em.nativeDelete(ConfigEntry, { ownerId, key, exposure, ...(isSecret === undefined ? {} : { isSecret }) });
    },

    /** The value in clear: only the deployment path calls this, never a read of the API. */
    reveal(entry: ConfigEntry): string {
      return entry.isSecret ? keyRing.open(entry.sealedValue ?? '') : (entry.plainValue ?? '');
    },
  };
}

/** The configuration service's type. */
export type ConfigurationService = ReturnType<typeof createConfigurationService>;
