import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../identity/entity.js';
import { Server } from '../servers/entity.js';

/** What a default access policy applies to: every server of the organization, or one server. */
export const accessPolicyScopeKinds = ['system', 'deployment-target'] as const;
export type AccessPolicyScopeKind = (typeof accessPolicyScopeKinds)[number];
/** How generated access hostnames are made: not at all, by a provider (`sslip`), or from a template. */
export const accessPolicyModes = ['disabled', 'provider', 'custom-template'] as const;
export type AccessPolicyMode = (typeof accessPolicyModes)[number];

/**
 * The default access policy of one scope: at most one per scope and organization (`scopeKey` is `system` or
 * `deployment-target:<serverId>`), so setting a scope again replaces its policy in place, keeping its id.
 */
export const DefaultAccessPolicy = defineEntity({
  name: 'DefaultAccessPolicy',
  tableName: 'default_access_policies',
  uniques: [{ properties: ['organization', 'scopeKey'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    scopeKind: p.enum([...accessPolicyScopeKinds]),
    // Deleting a server deletes its policy with it.
    server: () => p.manyToOne(Server).ref().nullable().deleteRule('cascade'),
    scopeKey: p.string().length(150),
    mode: p.enum([...accessPolicyModes]),
    providerKey: p.string().length(60).nullable(),
    templateRef: p.string().length(255).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type DefaultAccessPolicy = InferEntity<typeof DefaultAccessPolicy>;
