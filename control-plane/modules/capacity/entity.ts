import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { PruneCategory } from '../../../shared/capacity-command.js';
import { Organization } from '../identity/entity.js';

/** The seed's policy scopes, from the broadest to the most specific. */
export const prunePolicyScopes = [
  'defaults',
  'system',
  'organization',
  'project',
  'environment',
  'deployment-snapshot',
] as const;
export type PrunePolicyScope = (typeof prunePolicyScopes)[number];

/** What the last scheduled or disk-triggered run of a policy did. */
export interface PruneRunRecord {
  serverId: string;
  trigger: 'schedule' | 'disk-threshold';
  at: string;
  dryRun: boolean;
  ok: boolean;
  matchedCount: number;
  prunedCount: number;
  reclaimedBytes: number;
  error: string | null;
}

/**
 * A scheduled runtime prune policy (seed `scheduled-runtime-prune-policies.policy/v1`): which categories to prune,
 * objects unused for `retentionDays`, on every server of the organization or on one (`serverId`). One per scope and
 * server; a POST for the same pair changes it and raises its version. `destructive: false` runs dry (it only lists).
 */
export const PrunePolicy = defineEntity({
  name: 'PrunePolicy',
  tableName: 'capacity_prune_policies',
  // The migration makes it NULLS NOT DISTINCT: one organization-wide policy per scope.
  uniques: [{ properties: ['organization', 'scope', 'serverId'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    scope: p.enum([...prunePolicyScopes]),
    serverId: p.string().length(60).nullable(),
    retentionDays: p.integer(),
    destructive: p.boolean(),
    categories: p.json<PruneCategory[]>(),
    retryOnFailure: p.boolean(),
    enabled: p.boolean(),
    revision: p.integer(),
    updatedAt: p.datetime(),
    lastRuns: p.json<PruneRunRecord[]>().default('[]'),
  },
});
export type PrunePolicy = InferEntity<typeof PrunePolicy>;
