import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import { knexOf } from '../../db/knex.js';
import type { AuthContext } from '../identity/auth-context.js';
import { Server } from '../servers/entity.js';
import { RetentionDefault } from './entity.js';

/**
 * The seed's history categories with the days kept when no default is set. Berth enforces
 * `runtime-monitoring-samples` (samples and health checks) and `resource-runtime-log-archives` (runtime log lines and
 * their archives); the others are recorded for the features that own them.
 */
export const retentionCategories = {
  'audit-rows': { defaultDays: 365 },
  'deployment-logs': { defaultDays: 90 },
  'domain-event-streams': { defaultDays: 90 },
  'process-attempts': { defaultDays: 30 },
  'provider-job-logs': { defaultDays: 30 },
  'resource-runtime-log-archives': { defaultDays: 30 },
  'runtime-monitoring-samples': { defaultDays: 14 },
} as const;
export type RetentionCategory = keyof typeof retentionCategories;
export const retentionCategoryNames = Object.keys(retentionCategories) as RetentionCategory[];
/** `system` applies to every organization without a default of its own. */
export const retentionScopes = ['organization', 'system'] as const;
export type RetentionScope = (typeof retentionScopes)[number];

/** `POST /retention-defaults`. */
export interface ConfigureRetentionInput {
  category: RetentionCategory;
  retentionDays: number;
  scope?: RetentionScope | undefined;
  organizationId?: string | undefined;
  dryRunSchedulingEnabled?: boolean | undefined;
  destructiveSchedulingEnabled?: boolean | undefined;
  enabled?: boolean | undefined;
}

/** The seed's `retention-defaults.policy/v1`; a category never configured reads with its built-in default. */
function policyView(
  row: RetentionDefault | null,
  scope: RetentionScope,
  organizationId: string,
  category: RetentionCategory,
) {
  return {
    schemaVersion: 'retention-defaults.policy/v1' as const,
    id: row?.id ?? `default:${scope}:${category}`,
    scope,
    // A system record is read on behalf of an organization: the one it governs unless that one has its own.
    organizationId,
    category,
    retentionDays: row?.retentionDays ?? retentionCategories[category].defaultDays,
    dryRunSchedulingEnabled: row?.dryRunSchedulingEnabled ?? true,
    destructiveSchedulingEnabled: row?.destructiveSchedulingEnabled ?? true,
    enabled: row?.enabled ?? true,
    updatedAt: row?.updatedAt.toISOString() ?? null,
    updatedByActorId: row?.updatedByActorId ?? null,
    updatedByActorKind: row?.updatedByActorKind ?? 'system',
  };
}

function checkOrganization(caller: AuthContext, organizationId: string | undefined): void {
  if (organizationId !== undefined && organizationId !== caller.organizationId) {
    throw new AppError('not_found', `Organization "${organizationId}" was not found.`, {
      field: 'organizationId',
      hint: 'Retention defaults are read and set in your current organization.',
    });
  }
}

/** Retention defaults (3 seed operations) and what they mean for the retention job. */
export function createRetentionService(deps: { now: Clock }) {
  function rowOf(em: EntityManager, scope: RetentionScope, organizationId: string, category: RetentionCategory) {
    return em.findOne(RetentionDefault, {
      organization: scope === 'organization' ? organizationId : null,
      scope,
      category,
    });
  }

  return {
    async list(
      em: EntityManager,
      caller: AuthContext,
      query: { scope?: RetentionScope; category?: RetentionCategory; organizationId?: string; enabledOnly?: boolean },
    ) {
      checkOrganization(caller, query.organizationId);
      const rows = await em.find(RetentionDefault, {
        $or: [
          { organization: caller.organizationId, scope: 'organization' },
          { organization: null, scope: 'system' },
        ],
      });
      const byKey = new Map(rows.map((row) => [`${row.scope}:${row.category}`, row]));
      const scopes = query.scope ? [query.scope] : retentionScopes;
      const categories = query.category ? [query.category] : retentionCategoryNames;
      const items = scopes
        .flatMap((scope) =>
          categories.map((category) =>
            policyView(byKey.get(`${scope}:${category}`) ?? null, scope, caller.organizationId, category),
          ),
        )
        .filter((item) => !query.enabledOnly || item.enabled);
      return { schemaVersion: 'retention-defaults.list/v1' as const, items };
    },

    async show(
      em: EntityManager,
      caller: AuthContext,
      category: RetentionCategory,
      query: { scope?: RetentionScope; organizationId?: string },
    ) {
      checkOrganization(caller, query.organizationId);
      const scope = query.scope ?? 'system';
      const row = await rowOf(em, scope, caller.organizationId, category);
      return {
        schemaVersion: 'retention-defaults.show/v1' as const,
        policy: policyView(row, scope, caller.organizationId, category),
      };
    },

    async configure(em: EntityManager, caller: AuthContext, input: ConfigureRetentionInput) {
      checkOrganization(caller, input.organizationId);
      // Like the show, a body without scope sets the instance's default, which the show then reads back.
      const scope = input.scope ?? 'system';
      const at = deps.now();
      let row = await rowOf(em, scope, caller.organizationId, input.category);
      if (row === null) {
        row = em.create(RetentionDefault, {
          id: newId('retentionDefault', at.getTime()),
          organization: scope === 'organization' ? caller.organizationId : null,
          scope,
          category: input.category,
          retentionDays: input.retentionDays,
          dryRunSchedulingEnabled: input.dryRunSchedulingEnabled ?? true,
          destructiveSchedulingEnabled: input.destructiveSchedulingEnabled ?? true,
          enabled: input.enabled ?? true,
          updatedAt: at,
          updatedByActorId: caller.userId,
          updatedByActorKind: 'user',
        });
      } else {
        row.retentionDays = input.retentionDays;
        if (input.dryRunSchedulingEnabled !== undefined) row.dryRunSchedulingEnabled = input.dryRunSchedulingEnabled;
        if (input.destructiveSchedulingEnabled !== undefined)
          row.destructiveSchedulingEnabled = input.destructiveSchedulingEnabled;
        if (input.enabled !== undefined) row.enabled = input.enabled;
        row.updatedAt = at;
        row.updatedByActorId = caller.userId;
        row.updatedByActorKind = 'user';
      }
      await em.flush();
      return { id: row.id };
    },

    /**
     * What governs `category` for an organization: its own enabled default, else the instance's enabled one, else
     * the built-in days (destructive scheduling on).
     */
    async effective(
      em: EntityManager,
      organizationId: string,
      category: RetentionCategory,
    ): Promise<{ days: number; destructive: boolean }> {
      for (const scope of retentionScopes) {
        const row = await rowOf(em, scope, organizationId, category);
        if (row?.enabled) return { days: row.retentionDays, destructive: row.destructiveSchedulingEnabled };
      }
      return { days: retentionCategories[category].defaultDays, destructive: true };
    },
  };
}
export type RetentionService = ReturnType<typeof createRetentionService>;

/**
 * One run of the retention job for monitoring samples: per organization, samples of its servers older than its
 * `runtime-monitoring-samples` retention are deleted in slices of at most 50,000 rows (so one run never holds a
 * long lock), unless destructive scheduling is off, in which case the run only counts them. Returns what it did.
 */
export async function enforceSampleRetention(
  em: EntityManager,
  retention: RetentionService,
  now: Date,
  log: Logger,
): Promise<{ deleted: number; wouldDelete: number }> {
  const knex = knexOf(em);
  const serversByOrganization = new Map<string, string[]>();
  for (const server of await em.find(Server, {}, { fields: ['id', 'organization'] })) {
    const organizationId = server.organization.id;
    serversByOrganization.set(organizationId, [...(serversByOrganization.get(organizationId) ?? []), server.id]);
  }
  let deleted = 0;
  let wouldDelete = 0;
  for (const [organizationId, serverIds] of serversByOrganization) {
    const { days, destructive } = await retention.effective(em, organizationId, 'runtime-monitoring-samples');
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    if (!destructive) {
      const counted = (await knex.raw(
        'select count(*)::int as "n" from "monitoring_samples" where "observed_at" < ? and "server_id" = any(?)',
        [cutoff, serverIds],
      )) as { rows: Array<{ n: number }> };
      wouldDelete += counted.rows[0]?.n ?? 0;
      continue;
    }
    for (;;) {
      const result = (await knex.raw(
        `delete from "monitoring_samples" where "id" in (
           select "id" from "monitoring_samples" where "observed_at" < ? and "server_id" = any(?) limit 50000)`,
        [cutoff, serverIds],
      )) as { rowCount: number };
      deleted += result.rowCount;
      if (result.rowCount < 50_000) break;
    }
  }
  if (deleted > 0 || wouldDelete > 0) log.info({ deleted, wouldDelete }, 'monitoring sample retention applied');
  return { deleted, wouldDelete };
}
