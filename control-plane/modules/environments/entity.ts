import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../identity/entity.js';
import { Project } from '../projects/entity.js';

/** Kinds of environment (ENUMS.md environmentKinds). */
export const environmentKinds = ['local', 'development', 'test', 'staging', 'production', 'preview', 'custom'] as const;
/** Lifecycle states of an environment (ENUMS.md environmentLifecycleStatuses). */
export const environmentLifecycleStatuses = ['active', 'locked', 'archived'] as const;
export type EnvironmentKind = (typeof environmentKinds)[number];

/** An environment of a project (production, staging…): it holds resources and the variables they share. */
export const Environment = defineEntity({
  name: 'Environment',
  tableName: 'environments',
  uniques: [{ properties: ['project', 'nameKey'] }],
  indexes: [{ properties: ['organization', 'createdAt'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    project: () => p.manyToOne(Project).ref().deleteRule('cascade'),
    name: p.string().length(100),
    // lower(name): "Staging" and "staging" cannot both exist in one project.
    nameKey: p.string().length(100),
    kind: p.enum([...environmentKinds]),
    parentEnvironmentId: p.string().nullable(),
    lifecycleStatus: p.enum([...environmentLifecycleStatuses]).default('active'),
    lockedAt: p.datetime().nullable(),
    lockReason: p.string().length(500).nullable(),
    archivedAt: p.datetime().nullable(),
    archiveReason: p.string().length(500).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    version: p.integer().version(),
  },
});
export type Environment = InferEntity<typeof Environment>;
