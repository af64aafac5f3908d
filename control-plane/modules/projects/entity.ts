import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../identity/entity.js';

/** Lifecycle states of a project (ENUMS.md projectLifecycleStatuses); a deleted project is removed outright. */
export const projectLifecycleStatuses = ['active', 'archived', 'deleted'] as const;

/** A project: the top of the environment → resource → deployment tree, owned by one organization. */
export const Project = defineEntity({
  name: 'Project',
  tableName: 'projects',
  uniques: [{ properties: ['organization', 'nameKey'] }, { properties: ['organization', 'slug'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    name: p.string().length(100),
    // lower(name), so "Shop" and "shop" cannot both exist in one organization.
    nameKey: p.string().length(100),
    // Derived from the name at creation and kept across renames, so URLs and scripts that use it stay valid.
    slug: p.string().length(100),
    description: p.string().length(500).nullable(),
    lifecycleStatus: p.enum([...projectLifecycleStatuses]).default('active'),
    archivedAt: p.datetime().nullable(),
    archiveReason: p.string().length(500).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    // Optimistic lock: concurrent updates of one project cannot silently overwrite each other.
    version: p.integer().version(),
  },
});
export type Project = InferEntity<typeof Project>;
