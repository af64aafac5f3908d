import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { AuthContext } from '../identity/auth-context.js';
import { Server } from '../servers/entity.js';
import { type ThresholdEvaluation, ThresholdPolicy, type ThresholdRule } from './entity.js';
import { currentTotals } from './reads.js';
import { type ResolvedScope, resolveScope, type ScopeInput } from './scope.js';
import type { Signal, Totals } from './totals.js';
import { freshnessOf, type ReadContext } from './window.js';

/** The metrics a rule may watch, per signal (a `usedPercent` is derived from used and total). */
export const thresholdMetrics: Record<Signal, readonly string[]> = {
  cpu: ['usagePercent', 'containerCpuPercent', 'loadAverage1m', 'loadAverage5m', 'loadAverage15m'],
  memory: ['usedPercent', 'usedBytes', 'availableBytes', 'containerUsedBytes'],
  disk: ['usedPercent', 'usedBytes', 'availableBytes', 'attributedBytes'],
  inode: ['usedPercent', 'used', 'available'],
  docker: ['imageBytes', 'buildCacheBytes', 'containerWritableBytes'],
  network: ['rxBytes', 'txBytes'],
};
/** Percentages are 0–100; a container's CPU is 100 per core, so it may reach 100 × cores. */
const maxOf = (metric: string) =>
  metric === 'usedPercent' || metric === 'usagePercent' ? 100 : metric === 'containerCpuPercent' ? 100_000 : 1e18;

/** The seed's evaluation states. */
export type EvaluationState = 'ok' | 'warning' | 'critical' | 'stale' | 'unknown';

/** `POST /runtime-monitoring/thresholds`. */
export interface ConfigureThresholdsInput {
  scope: ScopeInput;
  rules: Array<{
    ruleId?: string | undefined;
    signal: string;
    metric: string;
    warning?: number | null | undefined;
    critical?: number | null | undefined;
    comparator?: string | undefined;
  }>;
  enabled?: boolean | undefined;
}

/** The value of `metric` of `signal` in `totals`, or null when the scope does not measure it. */
export function metricValue(totals: Totals, signal: Signal, metric: string): number | null {
  const group = totals[signal] as Record<string, number | null> | undefined;
  if (group === undefined) return null;
  if (metric === 'usedPercent') {
    const used = signal === 'inode' ? group['used'] : group['usedBytes'];
    const total = signal === 'inode' ? group['total'] : group['totalBytes'];
    if (used == null || total == null || total <= 0) return null;
    return Math.round((used / total) * 1000) / 10;
  }
  return group[metric] ?? null;
}

const nextActionsOf = (crossed: ThresholdEvaluation['crossed'], state: string): string[] => {
  if (state === 'stale' || state === 'unknown') return ['open-runtime-monitoring', 'inspect-capacity'];
  if (crossed.length === 0) return [];
  const actions = new Set<string>(['inspect-runtime-usage', 'open-runtime-monitoring']);
  for (const c of crossed) {
    if (c.signal === 'disk' || c.signal === 'inode' || c.signal === 'docker') actions.add('inspect-capacity');
    else actions.add('review-runtime-logs');
  }
  actions.add('review-deployment-events');
  return [...actions];
};

/** Judges `rules` against `totals`: the worst severity crossed, every rule crossed, what to do next. */
export function evaluateRules(
  rules: readonly ThresholdRule[],
  totals: Totals,
  freshness: 'live' | 'stale' | 'none',
  at: Date,
  sourceSampleId: string | null,
): Omit<ThresholdEvaluation, 'since' | 'state'> & { state: EvaluationState; nextActions: string[] } {
  const crossed: ThresholdEvaluation['crossed'] = [];
  for (const rule of rules) {
    const value = metricValue(totals, rule.signal as Signal, rule.metric);
    if (value === null) continue;
    if (rule.critical !== null && value >= rule.critical) {
      crossed.push({ ...ruleRef(rule), severity: 'critical', observedValue: value, boundary: rule.critical });
    } else if (rule.warning !== null && value >= rule.warning) {
      crossed.push({ ...ruleRef(rule), severity: 'warning', observedValue: value, boundary: rule.warning });
    }
  }
  const state: EvaluationState =
    freshness === 'none'
      ? 'unknown'
      : freshness === 'stale'
        ? 'stale'
        : crossed.some((c) => c.severity === 'critical')
          ? 'critical'
          : crossed.length > 0
            ? 'warning'
            : 'ok';
  return {
    state,
    evaluatedAt: at.toISOString(),
    sourceSampleId,
    crossed: freshness === 'live' ? crossed : [],
    nextActions: nextActionsOf(crossed, state),
  };
}

const ruleRef = (rule: ThresholdRule) => ({ ruleId: rule.ruleId, signal: rule.signal, metric: rule.metric });

function checkRules(input: ConfigureThresholdsInput['rules']): ThresholdRule[] {
  const seen = new Set<string>();
  return input.map((rule, index) => {
    const field = (name: string) => `rules[${index}].${name}`;
    const metrics = thresholdMetrics[rule.signal as Signal];
    if (metrics === undefined) {
      throw new AppError('validation_failed', `"${rule.signal}" is not a monitoring signal.`, {
        field: field('signal'),
        hint: `Signals: ${Object.keys(thresholdMetrics).join(', ')}.`,
      });
    }
    if (!metrics.includes(rule.metric)) {
      throw new AppError('validation_failed', `"${rule.metric}" is not a metric of the ${rule.signal} signal.`, {
        field: field('metric'),
        hint: `Metrics of ${rule.signal}: ${metrics.join(', ')}.`,
      });
    }
    const comparator = rule.comparator ?? 'greater-than-or-equal';
    if (comparator !== 'greater-than-or-equal') {
      throw new AppError('validation_failed', `Comparator "${comparator}" is not supported.`, {
        field: field('comparator'),
        hint: 'Use "greater-than-or-equal" (the only comparator).',
      });
    }
    const warning = rule.warning ?? null;
    const critical = rule.critical ?? null;
    if (warning === null && critical === null) {
      throw new AppError('validation_failed', 'A rule needs a warning or a critical boundary.', {
        field: field('warning'),
        hint: 'Send "warning" (and optionally "critical", at least as high).',
      });
    }
    for (const [name, value] of [
      ['warning', warning],
      ['critical', critical],
    ] as const) {
      if (value !== null && (!Number.isFinite(value) || value < 0 || value > maxOf(rule.metric))) {
        throw new AppError('validation_failed', `${name} ${value} is out of range for ${rule.metric}.`, {
          field: field(name),
          hint: `Send a number from 0 to ${maxOf(rule.metric)}.`,
        });
      }
    }
    if (warning !== null && critical !== null && critical < warning) {
      throw new AppError('validation_failed', 'critical is below warning.', {
        field: field('critical'),
        hint: 'A critical boundary is at least as high as the warning one.',
      });
    }
    const ruleId = rule.ruleId ?? `${rule.signal}.${rule.metric}`;
    if (seen.has(ruleId)) {
      throw new AppError('validation_failed', `Rule "${ruleId}" appears twice.`, {
        field: field('ruleId'),
        hint: 'Give each rule its own ruleId (one rule per signal and metric by default).',
      });
    }
    seen.add(ruleId);
    return { ruleId, signal: rule.signal, metric: rule.metric, warning, critical, comparator };
  });
}

function policyView(policy: ThresholdPolicy | null, scope: ResolvedScope) {
  return {
    schemaVersion: 'runtime-monitoring-thresholds.policy/v1' as const,
    policyId: policy?.id ?? null,
    scope: scope.view,
    rules: policy?.rules ?? [],
    enabled: policy?.enabled ?? false,
    updatedAt: policy?.updatedAt.toISOString() ?? null,
    updatedByActorId: policy?.updatedByActorId ?? null,
    updatedByActorKind: policy?.updatedByActorKind ?? 'system',
  };
}

/**
 * Threshold policies (one per scope): validated rules, evaluated as each telemetry batch is stored. Crossing a
 * boundary raises the policy's warning (state `warning` or `critical`, logged) and it clears (back to `ok`) as soon
 * as a sample no longer crosses it; silence reads `stale`. Nothing is enforced: thresholds only report.
 */
export function createThresholds(deps: {
  now: Clock;
  log: Logger;
  context(em: EntityManager, organizationId: string): Promise<ReadContext>;
}) {
  const { now, log } = deps;

  async function evaluate(em: EntityManager, organizationId: string, policy: ThresholdPolicy, scope: ResolvedScope) {
    const ctx = await deps.context(em, organizationId);
    const current = await currentTotals(em, scope, ctx);
    const freshness = current.newest === null ? 'none' : freshnessOf(current.newest, ctx);
    return evaluateRules(
      policy.rules,
      current.totals,
      freshness,
      ctx.now,
      current.newest === null ? null : `${scope.view.kind}:${current.newest.toISOString()}`,
    );
  }

  /** Evaluates and stores; a change of state is a warning raised or cleared. */
  async function refresh(em: EntityManager, organizationId: string, policy: ThresholdPolicy): Promise<void> {
    const scope = await resolveScope(em, organizationId, policy.scope as ScopeInput);
    const result = await evaluate(em, organizationId, policy, scope);
    const previous = policy.evaluation;
    const changed = previous?.state !== result.state;
    policy.evaluation = { ...result, since: changed ? result.evaluatedAt : (previous?.since ?? result.evaluatedAt) };
    await em.flush();
    if (!changed) return;
    const raised = result.state === 'warning' || result.state === 'critical';
    const summary = { policyId: policy.id, scope: policy.scope, state: result.state, crossed: result.crossed };
    if (raised) log.warn(summary, 'runtime monitoring threshold crossed: warning raised');
    else if (previous?.state === 'warning' || previous?.state === 'critical') {
      log.info(summary, 'runtime monitoring threshold no longer crossed: warning cleared');
    }
  }

  return {
    async configure(em: EntityManager, caller: AuthContext, input: ConfigureThresholdsInput) {
      const scope = await resolveScope(em, caller.organizationId, input.scope);
      const rules = checkRules(input.rules);
      const kind = scope.view.kind;
      const scopeId = scope.view[`${kind}Id`] as string;
      const at = now();
      let policy = await em.findOne(ThresholdPolicy, { organization: caller.organizationId, scopeKind: kind, scopeId });
      if (policy === null) {
        policy = em.create(ThresholdPolicy, {
          id: newId('thresholdPolicy', at.getTime()),
          organization: caller.organizationId,
          scopeKind: kind,
          scopeId,
          serverId: kind === 'server' ? scopeId : null,
          scope: scope.view as Record<string, string>,
          rules,
          enabled: input.enabled ?? true,
          evaluation: null,
          updatedAt: at,
          updatedByActorId: caller.userId,
          updatedByActorKind: 'user',
        });
      } else {
        policy.rules = rules;
        if (input.enabled !== undefined) policy.enabled = input.enabled;
        policy.evaluation = null;
        policy.updatedAt = at;
        policy.updatedByActorId = caller.userId;
        policy.updatedByActorKind = 'user';
      }
      await em.flush();
      if (policy.enabled) await refresh(em, caller.organizationId, policy);
      return { policy: policyView(policy, scope) };
    },

    async show(em: EntityManager, caller: AuthContext, query: { scope: ScopeInput; policyId?: string | undefined }) {
      const byId =
        query.policyId === undefined
          ? null
          : await em.findOne(ThresholdPolicy, { id: query.policyId, organization: caller.organizationId });
      if (query.policyId !== undefined && byId === null) {
        throw new AppError('not_found', `Threshold policy "${query.policyId}" was not found.`, { field: 'policyId' });
      }
      const scope = await resolveScope(
        em,
        caller.organizationId,
        byId === null ? query.scope : (byId.scope as ScopeInput),
      );
      const kind = scope.view.kind;
      const policy =
        byId ??
        (await em.findOne(ThresholdPolicy, {
          organization: caller.organizationId,
          scopeKind: kind,
          scopeId: scope.view[`${kind}Id`] as string,
        }));
      const fresh = policy === null ? null : await evaluate(em, caller.organizationId, policy, scope);
      const ctx = await deps.context(em, caller.organizationId);
      return {
        schemaVersion: 'runtime-monitoring-thresholds.show/v1' as const,
        scope: scope.view,
        generatedAt: ctx.now.toISOString(),
        policy: policyView(policy, scope),
        evaluation: {
          ...(fresh ?? {
            state: 'unknown' as const,
            evaluatedAt: ctx.now.toISOString(),
            sourceSampleId: null,
            crossed: [],
            nextActions: ['configure-thresholds'],
          }),
          // When the current state began, as the evaluations on arrival recorded it.
          since: policy?.evaluation?.state === fresh?.state ? (policy?.evaluation?.since ?? null) : null,
          sourceErrors: [],
        },
      };
    },

    /** After a batch of `serverId` is stored: every enabled policy its samples can change. */
    async onBatch(em: EntityManager, serverId: string): Promise<void> {
      const server = await em.findOne(Server, serverId, { fields: ['organization'] });
      if (server === null) return;
      const organizationId = server.organization.id;
      const policies = await em.find(ThresholdPolicy, {
        organization: organizationId,
        enabled: true,
        $or: [{ serverId }, { serverId: null }],
      });
      for (const policy of policies) await refresh(em, organizationId, policy);
    },
  };
}
export type Thresholds = ReturnType<typeof createThresholds>;
