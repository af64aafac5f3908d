import type { EntityManager } from '@mikro-orm/postgresql';
import { parseDotenv } from '../../../shared/dotenv.js';
import { AppError } from '../../../shared/errors.js';
import type { Clock } from '../../../shared/time.js';
import type { ConfigEntry, VariableExposure } from '../configuration/entity.js';
import { precedenceLadder, resolvePrecedence } from '../configuration/precedence.js';
import {
  type ConfigurationService,
  checkValueSize,
  maskedValue,
  toEntryView,
  type VariableInput,
  variableEntry,
} from '../configuration/service.js';
import type { Caller } from '../identity/auth-context.js';
import type { ResourceService } from './service.js';

/** Dependencies of {@link createResourceVariableService}. */
export interface ResourceVariableServiceOptions {
  now: Clock;
  resources: ResourceService;
  configuration: ConfigurationService;
}

/** Most entries one `.env` import may hold. */
export const maxImportEntries = 1000;

// Names that usually hold credentials: an import stores them as secrets. Over-matching only masks a value.
const secretName =
  /(^|_)(SECRET|SECRETS|PASSWORD|PASSWD|PASS|PWD|TOKEN|KEY|PRIVATE|CREDENTIALS?|AUTH|DSN|SALT|CERT)(_|$)/i;
// A URL with a password in it (postgres://user:pass@host/db) is a credential whatever its name.
const urlWithPassword = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** True when an imported variable is stored as a secret: by its name, by its value, or because the caller said so. */
export function looksSecret(key: string, value: string, secretKeys: ReadonlySet<string> = new Set()): boolean {
  return secretKeys.has(key) || secretName.test(key) || urlWithPassword.test(value);
}

function secretView(resourceId: string, entry: ConfigEntry) {
  return { resourceId, ...toEntryView(entry) };
}

/** A resource's variables, secrets, `.env` import and effective configuration (docs/configuration.md). */
export function createResourceVariableService({ now, resources, configuration }: ResourceVariableServiceOptions) {
  const ownerOf = (auth: Caller, environmentId: string, resourceId: string) => ({
    organizationId: auth.organizationId,
    environmentId,
    resourceId,
  });

  const noSecret = (resourceId: string, key: string, exposure: VariableExposure) =>
    new AppError('not_found', `Resource "${resourceId}" has no ${exposure} secret "${key}".`, {
      field: 'key',
      hint: `GET /resources/${resourceId}/secrets lists its secrets; create one with POST /resources/${resourceId}/secrets.`,
    });

  return {
    /** Sets a variable; kind "secret" (or isSecret) stores it as the resource's secret instead. */
    async setVariable(em: EntityManager, auth: Caller, resourceId: string, input: VariableInput) {
      await resources.change(em, auth, resourceId, 'changing variables', async (tx, { environment }) => {
        await configuration.set(tx, ownerOf(auth, environment.id, resourceId), variableEntry(input), {
          replaceOtherKind: false,
        });
      });
      return null;
    },

    /** Removes a variable (not a secret of the same key: that has its own DELETE). */
    async unsetVariable(em: EntityManager, auth: Caller, resourceId: string, key: string, exposure?: VariableExposure) {
      await resources.change(em, auth, resourceId, 'changing variables', async (tx) => {
        const exposures: VariableExposure[] = exposure ? [exposure] : ['runtime', 'build-time'];
        let removed = 0;
        for (const e of exposures) removed += await configuration.unset(tx, resourceId, key, e, false);
        if (removed === 0) {
          throw new AppError(
            'not_found',
            `Resource "${resourceId}" has no variable "${key}"${exposure ? ` with exposure ${exposure}` : ''}.`,
            {
              field: 'key',
              hint: `GET /resources/${resourceId}/effective-config lists its variables; secrets are removed with DELETE /resources/${resourceId}/secrets/${key}.`,
            },
          );
        }
      });
      return null;
    },

    /**
     * Imports `.env` text all or nothing: every malformed line is reported by number and nothing is stored. A key
     * given twice keeps its last value; an imported key replaces the resource's variable or secret of that key.
     */
    async importVariables(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      input: { content: string; exposure?: VariableExposure; secretKeys?: string[] },
    ) {
      const exposure = input.exposure ?? 'runtime';
      const parsed = parseDotenv(input.content);
      const errors = [...parsed.errors.map((e) => `line ${e.line}: ${e.message}`)];
      for (const entry of parsed.entries) {
        try {
          checkValueSize(entry.value);
        } catch (error) {
          errors.push(`line ${entry.line}: ${(error as AppError).message}`);
        }
      }
      if (parsed.entries.length > maxImportEntries)
        errors.push(`${parsed.entries.length} entries; at most ${maxImportEntries} per import`);
      if (errors.length > 0) {
        throw new AppError(
          'validation_failed',
          `The .env content has ${errors.length} invalid line${errors.length === 1 ? '' : 's'}; nothing was imported.`,
          { field: 'content', hint: 'Fix the lines listed in details.errors and import again.', details: { errors } },
        );
      }
      const lastByKey = new Map<string, (typeof parsed.entries)[number]>();
      const firstLine = new Map<string, number>();
      for (const entry of parsed.entries) {
        if (!firstLine.has(entry.key)) firstLine.set(entry.key, entry.line);
        lastByKey.set(entry.key, entry);
      }
      const secretKeys = new Set(input.secretKeys ?? []);
      return resources.change(em, auth, resourceId, 'importing variables', async (tx, { environment }) => {
        const before = await configuration.forResource(tx, environment.id, resourceId);
        const importedEntries = [];
        const existingOverrides = [];
        for (const entry of lastByKey.values()) {
          const isSecret = looksSecret(entry.key, entry.value, secretKeys);
          const { action, replaced } = await configuration.set(
            tx,
            ownerOf(auth, environment.id, resourceId),
            { key: entry.key, value: entry.value, exposure, kind: isSecret ? 'secret' : 'plain-config', isSecret },
            { replaceOtherKind: true },
          );
          importedEntries.push({
            key: entry.key,
            value: isSecret ? maskedValue : entry.value,
            exposure,
            kind: isSecret ? 'secret' : 'plain-config',
            isSecret,
            action: replaced !== null ? 'updated' : action,
            sourceLine: entry.line,
          });
          for (const previous of before.filter((b) => b.key === entry.key && b.exposure === exposure)) {
            existingOverrides.push({
              key: entry.key,
              exposure,
              previousScope: previous.scope as string,
              rule: previous.scope === 'environment' ? 'environment-entry-overridden' : 'resource-entry-replaced',
            });
          }
        }
        const duplicateOverrides = [...lastByKey.values()]
          .filter((e) => firstLine.get(e.key) !== e.line)
          .map((e) => ({
            key: e.key,
            exposure,
            firstLine: firstLine.get(e.key) ?? e.line,
            lastLine: e.line,
            rule: 'last-wins',
          }));
        return { resourceId, importedEntries, duplicateOverrides, existingOverrides };
      });
    },

    async listSecrets(em: EntityManager, auth: Caller, resourceId: string, exposure?: VariableExposure) {
      await resources.load(em, auth, resourceId);
      const owned = await configuration.owned(em, resourceId);
      return {
        schemaVersion: 'resources.secrets.list/v1' as const,
        resourceId,
        items: owned
          .filter((e) => e.isSecret && (exposure === undefined || e.exposure === exposure))
          .map((e) => secretView(resourceId, e)),
        generatedAt: now().toISOString(),
      };
    },

    async showSecret(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      key: string,
      exposure: VariableExposure = 'runtime',
    ) {
      await resources.load(em, auth, resourceId);
      const entry = await configuration.find(em, resourceId, key, exposure, true);
      if (entry === null) throw noSecret(resourceId, key, exposure);
      return {
        schemaVersion: 'resources.secrets.show/v1' as const,
        secret: secretView(resourceId, entry),
        generatedAt: now().toISOString(),
      };
    },

    /** Creates a secret; one that exists already is a CONFLICT (rotate it with POST …/secrets/{key}). */
    async createSecret(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      input: { key: string; value: string; exposure?: VariableExposure },
    ) {
      const exposure = input.exposure ?? 'runtime';
      return resources.change(em, auth, resourceId, 'changing secrets', async (tx, { environment }) => {
        if ((await configuration.find(tx, resourceId, input.key, exposure, true)) !== null) {
          throw new AppError('conflict', `Resource "${resourceId}" already has a ${exposure} secret "${input.key}".`, {
            field: 'key',
            hint: `Rotate its value with POST /resources/${resourceId}/secrets/${input.key}.`,
          });
        }
        await configuration.set(
          tx,
          ownerOf(auth, environment.id, resourceId),
          { key: input.key, value: input.value, exposure, kind: 'secret', isSecret: true },
          { replaceOtherKind: false },
        );
        return { resourceId, key: input.key, exposure };
      });
    },

    /** Replaces the value of an existing secret. */
    async rotateSecret(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      key: string,
      input: { value: string; exposure?: VariableExposure },
    ) {
      const exposure = input.exposure ?? 'runtime';
      return resources.change(em, auth, resourceId, 'changing secrets', async (tx, { environment }) => {
        if ((await configuration.find(tx, resourceId, key, exposure, true)) === null)
          throw noSecret(resourceId, key, exposure);
        await configuration.set(
          tx,
          ownerOf(auth, environment.id, resourceId),
          { key, value: input.value, exposure, kind: 'secret', isSecret: true },
          { replaceOtherKind: false },
        );
        return { resourceId, key, exposure };
      });
    },

    async deleteSecret(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      key: string,
      exposure: VariableExposure = 'runtime',
    ) {
      return resources.change(em, auth, resourceId, 'changing secrets', async (tx) => {
        if ((await configuration.unset(tx, resourceId, key, exposure, true)) === 0)
          throw noSecret(resourceId, key, exposure);
        return { resourceId, key, exposure };
      });
    },

    /** The masked configuration a deployment would get, with where each value came from and what it hides. */
    async effectiveConfig(em: EntityManager, auth: Caller, resourceId: string) {
      const { environment } = await resources.load(em, auth, resourceId);
      const entries = await configuration.forResource(em, environment.id, resourceId);
      const { effective, overrides } = resolvePrecedence(entries);
      return {
        schemaVersion: 'resources.effective-config/v1' as const,
        resourceId,
        environmentId: environment.id,
        ownedEntries: entries.filter((e) => e.ownerId === resourceId).map(toEntryView),
        effectiveEntries: effective.map(toEntryView),
        overrides,
        precedence: [...precedenceLadder],
        generatedAt: now().toISOString(),
      };
    },

    /**
     * The configuration in clear, for a deployment snapshot only: the one place secrets are decrypted. Never
     * return it from an API route or write it to a log.
     */
    async resolveForDeployment(
      em: EntityManager,
      environmentId: string,
      resourceId: string,
      exposure: VariableExposure = 'runtime',
    ) {
      const entries = await configuration.forResource(em, environmentId, resourceId);
      return resolvePrecedence(entries.filter((e) => e.exposure === exposure)).effective.map((e) => ({
        key: e.key,
        value: configuration.reveal(e),
        isSecret: e.isSecret,
        scope: e.scope,
      }));
    },
  };
}

/** The resource variable service's type. */
export type ResourceVariableService = ReturnType<typeof createResourceVariableService>;
