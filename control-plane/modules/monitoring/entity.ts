import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../identity/entity.js';

/** What a sample measured: the whole host, or one Berth container. */
export const sampleKinds = ['host', 'container'] as const;

/**
 * One monitoring sample as the agent measured it: a host sample (load, memory, disks, Docker's disk use) or a
 * container sample (CPU and memory of one Berth container, attributed by its labels). Rows are written in
 * batches by the ingest (plain multi-row inserts), never through the unit of work, and have no foreign keys:
 * samples of a deleted resource stay until retention removes them. Byte counts are `number`s: JavaScript's
 * doubles are exact up to 2^53 bytes (8 PiB).
 */
export const MonitoringSample = defineEntity({
  name: 'MonitoringSample',
  tableName: 'monitoring_samples',
  indexes: [
    { properties: ['serverId', 'observedAt'] },
    { properties: ['resourceId', 'observedAt'] },
    { properties: ['environmentId', 'observedAt'] },
    // Rows arrive in time order, so a BRIN index serves retention deletes and wide scans for a few pages.
    {
      name: 'monitoring_samples_observed_at_brin',
      expression:
        'create index "monitoring_samples_observed_at_brin" on "monitoring_samples" using brin ("observed_at")',
    },
  ],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    serverId: p.string().length(40),
    kind: p.enum([...sampleKinds]),
    observedAt: p.datetime(),
    collectedAt: p.datetime(),
    projectId: p.string().length(40).nullable(),
    environmentId: p.string().length(40).nullable(),
    resourceId: p.string().length(40).nullable(),
    deploymentId: p.string().length(40).nullable(),
    runtimeId: p.string().length(80).nullable(),
    logicalCores: p.integer().nullable(),
    loadAverage1m: p.double().nullable(),
    loadAverage5m: p.double().nullable(),
    loadAverage15m: p.double().nullable(),
    cpuPercent: p.double().nullable(),
    containerCpuPercent: p.double().nullable(),
    memoryTotalBytes: p.bigint('number').nullable(),
    memoryUsedBytes: p.bigint('number').nullable(),
    memoryAvailableBytes: p.bigint('number').nullable(),
    containerMemoryBytes: p.bigint('number').nullable(),
    diskTotalBytes: p.bigint('number').nullable(),
    diskUsedBytes: p.bigint('number').nullable(),
    diskAvailableBytes: p.bigint('number').nullable(),
    diskAttributedBytes: p.bigint('number').nullable(),
    inodeTotal: p.bigint('number').nullable(),
    inodeUsed: p.bigint('number').nullable(),
    inodeAvailable: p.bigint('number').nullable(),
    dockerImageBytes: p.bigint('number').nullable(),
    dockerBuildCacheBytes: p.bigint('number').nullable(),
    dockerWritableBytes: p.bigint('number').nullable(),
    networkRxBytes: p.bigint('number').nullable(),
    networkTxBytes: p.bigint('number').nullable(),
    // Per mount: {mount, filesystem, totalBytes, usedBytes, availableBytes, inodesTotal, inodesUsed, inodesAvailable}.
    disks: p.json<unknown[]>().nullable(),
  },
});
export type MonitoringSample = InferEntity<typeof MonitoringSample>;

/**
 * Per server and channel (`` for samples, `logs` for runtime log lines), the agent spool whose batches are being
 * stored and the last batch stored from it: a resent batch (same spool, seq not above it) is skipped, and a jump in
 * seq is counted as batches the agent dropped.
 */
export const TelemetryCursor = defineEntity({
  name: 'TelemetryCursor',
  tableName: 'telemetry_cursors',
  properties: {
    serverId: p.string().length(40).primary(),
    channel: p.string().length(20).primary(),
    spoolId: p.string().length(64),
    lastBatchSeq: p.bigint('string'),
    droppedBatches: p.bigint('number'),
    lastDropAt: p.datetime().nullable(),
    newestObservedAt: p.datetime().nullable(),
    receivedAt: p.datetime(),
  },
});
export type TelemetryCursor = InferEntity<typeof TelemetryCursor>;

/**
 * How long one category of history is kept (seed `retention-defaults.policy/v1`): per organization, or for the
 * whole instance (`system`, no organization). The retention job reads them every run.
 */
export const RetentionDefault = defineEntity({
  name: 'RetentionDefault',
  tableName: 'retention_defaults',
  uniques: [{ properties: ['organization', 'scope', 'category'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().nullable().deleteRule('cascade'),
    scope: p.string().length(40),
    category: p.string().length(60),
    retentionDays: p.integer(),
    dryRunSchedulingEnabled: p.boolean(),
    destructiveSchedulingEnabled: p.boolean(),
    enabled: p.boolean(),
    updatedAt: p.datetime(),
    updatedByActorId: p.string().length(60).nullable(),
    updatedByActorKind: p.string().length(40),
  },
});
export type RetentionDefault = InferEntity<typeof RetentionDefault>;

/** One rule of a threshold policy (seed `rules[]`). */
export interface ThresholdRule {
  ruleId: string;
  signal: string;
  metric: string;
  warning: number | null;
  critical: number | null;
  comparator: string;
}

/** A policy's latest evaluation (seed `evaluation`), updated as samples arrive. */
export interface ThresholdEvaluation {
  state: string;
  evaluatedAt: string;
  sourceSampleId: string | null;
  crossed: Array<{
    ruleId: string;
    signal: string;
    metric: string;
    severity: 'warning' | 'critical';
    observedValue: number;
    boundary: number;
  }>;
  /** When the current state began (a warning raised, or cleared). */
  since: string;
}

/**
 * Non-enforcing thresholds over one monitoring scope (seed `runtime-monitoring-thresholds.policy/v1`): evaluated
 * as samples arrive; crossing raises a warning, which clears when the condition ends. One policy per scope.
 */
export const ThresholdPolicy = defineEntity({
  name: 'ThresholdPolicy',
  tableName: 'monitoring_threshold_policies',
  uniques: [{ properties: ['organization', 'scopeKind', 'scopeId'] }],
  indexes: [{ properties: ['serverId'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    scopeKind: p.string().length(20),
    scopeId: p.string().length(40),
    // The server whose samples can change it (null: any of the organization's, for project-wide scopes).
    serverId: p.string().length(40).nullable(),
    scope: p.json<Record<string, string>>(),
    rules: p.json<ThresholdRule[]>(),
    enabled: p.boolean(),
    evaluation: p.json<ThresholdEvaluation>().nullable(),
    updatedAt: p.datetime(),
    updatedByActorId: p.string().length(60).nullable(),
    updatedByActorKind: p.string().length(40),
  },
});
export type ThresholdPolicy = InferEntity<typeof ThresholdPolicy>;
