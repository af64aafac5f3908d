import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Environment } from '../environments/entity.js';
import { Organization } from '../identity/entity.js';
import { Resource } from '../resources/entity.js';

/** Where a variable is defined (ENUMS.md configScopes, the ones Berth stores). */
export const entryScopes = ['environment', 'resource'] as const;
/** ENUMS.md variableExposures. */
export const variableExposures = ['build-time', 'runtime'] as const;
/** ENUMS.md variableKinds. */
export const variableKinds = ['plain-config', 'secret', 'provider-specific', 'deployment-strategy'] as const;
export type EntryScope = (typeof entryScopes)[number];
export type VariableExposure = (typeof variableExposures)[number];
export type VariableKind = (typeof variableKinds)[number];

/**
 * One variable or secret of an environment or a resource. A secret's value is only ever stored sealed
 * (`sealedValue`, envelope-encrypted by the key ring); a plain value is stored as it is. A resource may hold a
 * variable and a secret with the same key: the secret wins (docs/configuration.md).
 */
export const ConfigEntry = defineEntity({
  name: 'ConfigEntry',
  tableName: 'config_entries',
  uniques: [{ properties: ['ownerId', 'key', 'exposure', 'isSecret'] }],
  indexes: [{ properties: ['environment'] }, { properties: ['resource'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    environment: () => p.manyToOne(Environment).ref().deleteRule('cascade'),
    resource: () => p.manyToOne(Resource).ref().nullable().deleteRule('cascade'),
    scope: p.enum([...entryScopes]),
    // The environment's id for environment entries, the resource's for resource entries: one unique key for both.
    ownerId: p.string(),
    key: p.string().length(255),
    exposure: p.enum([...variableExposures]),
    kind: p.enum([...variableKinds]),
    isSecret: p.boolean(),
    plainValue: p.text().nullable(),
    sealedValue: p.text().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type ConfigEntry = InferEntity<typeof ConfigEntry>;
