import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/** Roles a user can hold in an organization, strongest first. */
export const organizationRoles = ['owner', 'admin', 'member', 'viewer'] as const;

/** One of {@link organizationRoles}. */
export type OrganizationRole = (typeof organizationRoles)[number];

/** A tenant: projects, servers and members belong to exactly one organization. */
export const Organization = defineEntity({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: p.string().primary(),
    name: p.string().length(100),
    slug: p.string().length(100).unique(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type Organization = InferEntity<typeof Organization>;

/** A person who logs in. Only a slow hash of the password is stored. */
export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.string().primary(),
    // Stored lower-cased, so uniqueness and login ignore case.
    email: p.string().length(320).unique(),
    displayName: p.string().length(100),
    passwordHash: p.string().length(300).hidden(),
    // Only on the first admin, when its bootstrap request carried an idempotency key: the key and a hash of the request.
    bootstrapIdempotencyKey: p.string().length(200).nullable(),
    bootstrapRequestHash: p.string().length(64).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type User = InferEntity<typeof User>;

/** A user's role in one organization. */
export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['organization', 'user'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    user: () => p.manyToOne(User).ref().deleteRule('cascade'),
    role: p.enum([...organizationRoles]),
    joinedAt: p.datetime(),
  },
});
export type Membership = InferEntity<typeof Membership>;
