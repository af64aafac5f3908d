import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Environment } from '../environments/entity.js';
import { Organization } from '../identity/entity.js';
import { Project } from '../projects/entity.js';
import type {
  AccessProfile,
  HealthPolicy,
  NetworkProfile,
  ResourceService,
  RuntimeProfile,
  SourceProfile,
} from './profiles.js';

/** Kinds of resource (ENUMS.md resourceKinds). */
export const resourceKinds = [
  'application',
  'service',
  'database',
  'cache',
  'compose-stack',
  'worker',
  'static-site',
  'external',
] as const;
/** A resource is active or archived; a deleted resource is removed outright. */
export const resourceLifecycleStatuses = ['active', 'archived'] as const;

/**
 * A deployable application in one environment. Each profile is one JSON document, replaced whole by its own POST
 * (the seed's "each set by its own POST"), so profiles never need joins and a snapshot copies them as they are.
 */
export const Resource = defineEntity({
  name: 'Resource',
  tableName: 'resources',
  uniques: [{ properties: ['environment', 'nameKey'] }, { properties: ['environment', 'slug'] }],
  indexes: [{ properties: ['organization', 'createdAt'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    project: () => p.manyToOne(Project).ref().deleteRule('cascade'),
    environment: () => p.manyToOne(Environment).ref().deleteRule('cascade'),
    name: p.string().length(100),
    nameKey: p.string().length(100),
    // Derived from the name at creation and kept across renames.
    slug: p.string().length(60),
    kind: p.enum([...resourceKinds]),
    description: p.string().length(500).nullable(),
    services: p.json<ResourceService[]>(),
    source: p.json<SourceProfile>().nullable(),
    runtimeProfile: p.json<RuntimeProfile>().nullable(),
    networkProfile: p.json<NetworkProfile>().nullable(),
    accessProfile: p.json<AccessProfile>().nullable(),
    healthPolicy: p.json<HealthPolicy>().nullable(),
    lifecycleStatus: p.enum([...resourceLifecycleStatuses]).default('active'),
    archivedAt: p.datetime().nullable(),
    archiveReason: p.string().length(500).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    version: p.integer().version(),
  },
});
export type Resource = InferEntity<typeof Resource>;
