import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { knexOf } from '../../db/knex.js';
import type { ResolvedScope, ScopeView } from './scope.js';

/** What every monitoring read is judged by. */
export interface ReadContext {
  now: Date;
  /** The agents' sample interval: freshness and gaps are measured in it. */
  intervalMs: number;
  /** How long raw samples are kept (the `runtime-monitoring-samples` retention default). */
  retentionHours: number;
}

/** A read's time window. */
export interface Window {
  from: Date;
  to: Date;
}

/** The seed's `warnings[]` entry. */
export interface MonitoringWarning {
  code: string;
  message: string;
  signal?: string;
  scope: ScopeView;
}

/**
 * A timestamp from a raw query: the pg driver as MikroORM configures it hands `timestamptz` over as text, so
 * raw rows are read through this.
 */
export function asDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

/** Like {@link asDate}, keeping null. */
export function asDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : asDate(value);
}

/** A sample interval's worth of silence, three times over, is a gap (and reads as stale). */
export const staleAfterIntervals = 3;

/**
 * The window asked for: `window.to` defaults to now and `window.from` to `defaultSpanMs` before it. Refused:
 * `from` after `to`, and a `from` before what retention keeps (nothing could be there; the hint says how far
 * back samples go).
 */
export function windowOf(
  input: { from?: string | undefined; to?: string | undefined },
  ctx: ReadContext,
  defaultSpanMs: number,
): Window {
  const to = input.to !== undefined ? new Date(input.to) : ctx.now;
  const from = input.from !== undefined ? new Date(input.from) : new Date(to.getTime() - defaultSpanMs);
  if (from.getTime() > to.getTime()) {
    throw new AppError('validation_failed', 'window.from is after window.to.', {
      field: 'window.from',
      hint: 'Send a window.from earlier than window.to (both ISO 8601 UTC, e.g. 2026-12-07T10:00:00Z).',
    });
  }
  const retainedSince = ctx.now.getTime() - ctx.retentionHours * 3_600_000;
  // A minute of slack: a client computing "now minus the retention" must not be refused for a clock tick.
  if (from.getTime() < retainedSince - 60_000) {
    throw new AppError(
      'validation_failed',
      `window.from is beyond the ${ctx.retentionHours} h that samples are kept.`,
      {
        field: 'window.from',
        hint: `Samples are retained from ${new Date(retainedSince).toISOString()}; change the runtime-monitoring-samples retention default to keep more.`,
      },
    );
  }
  return { from, to };
}

/** `live` when the scope's newest sample is younger than three sample intervals, else `stale`. */
export function freshnessOf(newest: Date | null, ctx: ReadContext): 'live' | 'stale' {
  if (newest === null) return 'stale';
  return ctx.now.getTime() - newest.getTime() <= staleAfterIntervals * ctx.intervalMs ? 'live' : 'stale';
}

/** The scope's oldest and newest sample times (any window). */
export async function sampleExtent(
  em: EntityManager,
  scope: ResolvedScope,
): Promise<{ oldest: Date | null; newest: Date | null }> {
  const result = (await knexOf(em).raw(
    `select min("observed_at") as "oldest", max("observed_at") as "newest" from "monitoring_samples" where ${scope.where}`,
    scope.bindings,
  )) as { rows: Array<{ oldest: Date | null; newest: Date | null }> };
  const row = result.rows[0];
  return { oldest: asDateOrNull(row?.oldest), newest: asDateOrNull(row?.newest) };
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/**
 * Where the scope went silent inside the window for longer than three sample intervals: between two samples,
 * before the first one (when samples existed before the window), and after the last one up to now or the
 * window's end. Each is a `missing-samples` warning saying when and for how long.
 */
export async function gapWarnings(
  em: EntityManager,
  scope: ResolvedScope,
  window: Window,
  extent: { oldest: Date | null; newest: Date | null },
  ctx: ReadContext,
): Promise<MonitoringWarning[]> {
  const limitMs = staleAfterIntervals * ctx.intervalMs;
  const warnings: MonitoringWarning[] = [];
  const add = (from: Date, to: Date, what: string) =>
    warnings.push({
      code: 'missing-samples',
      message: `${what} from ${from.toISOString()} to ${to.toISOString()} (${seconds(to.getTime() - from.getTime())}).`,
      scope: scope.view,
    });
  const gaps = (await knexOf(em).raw(
    `select "previous", "observed_at" from (
       select "observed_at", lag("observed_at") over (order by "observed_at") as "previous"
       from "monitoring_samples" where ${scope.where} and "observed_at" >= ? and "observed_at" <= ?
     ) as "t" where "observed_at" - "previous" > make_interval(secs => ?) order by "observed_at" limit 50`,
    [...scope.bindings, window.from, window.to, limitMs / 1000],
  )) as { rows: Array<{ previous: Date; observed_at: Date }> };
  const bounds = (await knexOf(em).raw(
    `select min("observed_at") as "first", max("observed_at") as "last" from "monitoring_samples"
     where ${scope.where} and "observed_at" >= ? and "observed_at" <= ?`,
    [...scope.bindings, window.from, window.to],
  )) as { rows: Array<{ first: Date | null; last: Date | null }> };
  const first = asDateOrNull(bounds.rows[0]?.first);
  const last = asDateOrNull(bounds.rows[0]?.last);
  const end = new Date(Math.min(window.to.getTime(), ctx.now.getTime()));
  if (first === null || last === null) {
    if (extent.oldest !== null && extent.oldest < end) add(window.from, end, 'No samples');
    return warnings;
  }
  if (extent.oldest !== null && extent.oldest < window.from && first.getTime() - window.from.getTime() > limitMs) {
    add(window.from, first, 'No samples');
  }
  for (const gap of gaps.rows) add(asDate(gap.previous), asDate(gap.observed_at), 'No samples');
  if (end.getTime() - last.getTime() > limitMs) add(last, end, 'No samples since the last one');
  return warnings;
}
