import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../identity/entity.js';

/**
 * One line a Berth container printed, as its agent's logs stream delivered it, secret values already masked (the
 * raw line is never stored). `id` is the line's cursor: it grows with every line stored, so "after cursor N" is an
 * index range scan. Written in batches by the ingest, never through the unit of work; no foreign keys, like
 * monitoring samples: history outlives a deleted deployment until retention removes it.
 */
export const RuntimeLogLine = defineEntity({
  name: 'RuntimeLogLine',
  tableName: 'runtime_log_lines',
  indexes: [
    { properties: ['resourceId', 'id'] },
    { properties: ['deploymentId', 'id'] },
    {
      name: 'runtime_log_lines_observed_at_brin',
      expression: 'create index "runtime_log_lines_observed_at_brin" on "runtime_log_lines" using brin ("observed_at")',
    },
  ],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    organizationId: p.string().length(40),
    serverId: p.string().length(40),
    resourceId: p.string().length(40),
    deploymentId: p.string().length(40),
    serviceName: p.string().length(100),
    containerId: p.string().length(80),
    stream: p.string().length(10),
    observedAt: p.datetime(),
    receivedAt: p.datetime(),
    sequence: p.bigint('number'),
    message: p.text(),
    masked: p.boolean(),
  },
});
export type RuntimeLogLine = InferEntity<typeof RuntimeLogLine>;

/** A line as an archive keeps it (the seed's line shape). */
export interface ArchivedLine {
  resourceId: string;
  deploymentId: string;
  serviceName: string;
  runtimeKind: string;
  runtimeInstanceId: string;
  stream: 'stdout' | 'stderr';
  timestamp: string;
  sequence: number;
  cursor: string;
  message: string;
  masked: boolean;
}

/**
 * A bounded snapshot of a resource's runtime log (seed `resources.runtime-logs.archive/v1`): captured on request,
 * and automatically with the tail of a container a deployment replaced. Its lines are copied, so it outlives the
 * line history's retention until it is pruned or its own retention ends.
 */
export const RuntimeLogArchive = defineEntity({
  name: 'RuntimeLogArchive',
  tableName: 'runtime_log_archives',
  indexes: [{ properties: ['organization', 'capturedAt'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    resourceId: p.string().length(40),
    deploymentId: p.string().length(40),
    serverId: p.string().length(40),
    serviceName: p.string().length(100),
    capturedAt: p.datetime(),
    reason: p.string().length(200),
    lineCount: p.integer(),
    lines: p.json<ArchivedLine[]>(),
  },
});
export type RuntimeLogArchive = InferEntity<typeof RuntimeLogArchive>;
