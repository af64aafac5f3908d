import type { EntryScope, VariableExposure } from './entity.js';

/**
 * Where a value can come from, lowest first: an environment's variables, then the resource's variables, then the
 * resource's secrets. For one key and exposure the highest layer wins (docs/configuration.md).
 */
export const precedenceLadder = ['environment', 'resource', 'resource-secret'] as const;
export type PrecedenceLayer = (typeof precedenceLadder)[number];

/** What precedence needs to know of an entry. */
export interface LayeredEntry {
  key: string;
  exposure: VariableExposure;
  scope: EntryScope;
  isSecret: boolean;
}

/** The layer an entry sits in. An environment's secrets share the environment layer: one key holds one value there. */
export function layerOf(entry: LayeredEntry): PrecedenceLayer {
  if (entry.scope === 'environment') return 'environment';
  return entry.isSecret ? 'resource-secret' : 'resource';
}

/** One value hidden by a higher layer, as the effective views report it. */
export interface Override {
  key: string;
  exposure: VariableExposure;
  effectiveScope: EntryScope;
  effectiveLayer: PrecedenceLayer;
  overriddenScope: EntryScope;
  overriddenLayer: PrecedenceLayer;
  rule: string;
}

/**
 * Resolves entries to one per key and exposure (the highest layer's), sorted by key then exposure, and lists every
 * value that lost.
 */
export function resolvePrecedence<E extends LayeredEntry>(
  entries: readonly E[],
): { effective: E[]; overrides: Override[] } {
  const rank = (e: E) => precedenceLadder.indexOf(layerOf(e));
  const groups = new Map<string, E[]>();
  for (const entry of entries) {
    const id = `${entry.key}\u0000${entry.exposure}`;
    groups.set(id, [...(groups.get(id) ?? []), entry]);
  }
  const effective: E[] = [];
  const overrides: Override[] = [];
  for (const group of groups.values()) {
    const ordered = [...group].sort((a, b) => rank(b) - rank(a));
    const [winner, ...losers] = ordered as [E, ...E[]];
    effective.push(winner);
    for (const loser of losers) {
      overrides.push({
        key: winner.key,
        exposure: winner.exposure,
        effectiveScope: winner.scope,
        effectiveLayer: layerOf(winner),
        overriddenScope: loser.scope,
        overriddenLayer: layerOf(loser),
        rule: `${layerOf(winner)}-overrides-${layerOf(loser)}`,
      });
    }
  }
  const order = (a: { key: string; exposure: string }, b: { key: string; exposure: string }) =>
    a.key === b.key ? a.exposure.localeCompare(b.exposure) : a.key < b.key ? -1 : 1;
  return { effective: effective.sort(order), overrides: overrides.sort(order) };
}
