import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { type ArchivedLine, RuntimeLogLine } from './entity.js';

/** Which lines a read is about. */
export interface LineFilter {
  resourceId: string;
  deploymentId?: string | undefined;
  serviceName?: string | undefined;
  /** Only lines written at or after this instant. */
  since?: Date | undefined;
}

/** The seed's runtime log line. */
export function lineView(row: RuntimeLogLine): ArchivedLine {
  return {
    resourceId: row.resourceId,
    deploymentId: row.deploymentId,
    serviceName: row.serviceName,
    runtimeKind: 'docker-container',
    runtimeInstanceId: row.containerId.slice(0, 12),
    stream: row.stream === 'stderr' ? 'stderr' : 'stdout',
    timestamp: row.observedAt.toISOString(),
    sequence: row.sequence,
    cursor: String(row.id),
    message: row.message,
    masked: row.masked,
  };
}

function where(filter: LineFilter): Record<string, unknown> {
  return {
    resourceId: filter.resourceId,
    ...(filter.deploymentId ? { deploymentId: filter.deploymentId } : {}),
    ...(filter.serviceName ? { serviceName: filter.serviceName } : {}),
    ...(filter.since ? { observedAt: { $gte: filter.since } } : {}),
  };
}

/** A cursor as the API hands it out: a line id. */
export function parseCursor(raw: string, field: string): number {
  if (!/^\d{1,18}$/.test(raw)) {
    throw new AppError('validation_failed', `${field} is not a runtime log cursor.`, {
      field,
      hint: "Send the `cursor` of a line (or the SSE frame's id) exactly as it was received.",
    });
  }
  return Number(raw);
}

/** The last `count` lines, oldest first. */
export async function tailLines(em: EntityManager, filter: LineFilter, count: number): Promise<RuntimeLogLine[]> {
  if (count === 0) return [];
  const rows = await em.find(RuntimeLogLine, where(filter), { orderBy: { id: 'desc' }, limit: count });
  return rows.reverse();
}

/** Up to `limit` lines after `cursor`, oldest first. */
export async function linesAfter(
  em: EntityManager,
  filter: LineFilter,
  cursor: number,
  limit: number,
): Promise<RuntimeLogLine[]> {
  return em.find(RuntimeLogLine, { ...where(filter), id: { $gt: cursor } }, { orderBy: { id: 'asc' }, limit });
}

/** The cursor of the newest line of the filter (0 when there is none). */
export async function newestCursor(em: EntityManager, filter: LineFilter): Promise<number> {
  const [row] = await em.find(RuntimeLogLine, where(filter), { orderBy: { id: 'desc' }, limit: 1, fields: ['id'] });
  return row?.id ?? 0;
}
