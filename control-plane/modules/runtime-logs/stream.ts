import { once } from 'node:events';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NotifyHub } from '../../db/notify-hub.js';
import { openEventStream } from '../../http/event-stream.js';
import { type LineFilter, linesAfter, lineView, newestCursor, tailLines } from './reads.js';
import { runtimeLogsChannel } from './store.js';

const schemaVersion = 'resources.runtime-logs.stream/v1';
const heartbeatMs = 15_000;
/** Lines read per query; a client that reads slowly is simply this far behind, never buffered in memory. */
const pageSize = 200;

/** Where a stream starts and whether it keeps following. */
export interface LogStreamOptions {
  filter: LineFilter;
  /** Resume after this cursor (the `cursor` query or the `Last-Event-ID` header); null: start with the tail. */
  cursor: number | null;
  tailLines: number;
  follow: boolean;
}

function frame(data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/**
 * Serves a resource's runtime log as Server-Sent Events, following the resource (every deployment, every container)
 * rather than one container. Each line frame's `id:` is its cursor, so a client that reconnects with
 * `Last-Event-ID` gets exactly the lines after it. The database is the buffer: lines are read a page at a time and
 * the next page waits for the socket to drain, so a slow client gets backpressure, not an ever-growing queue.
 * New lines wake the stream through PostgreSQL NOTIFY (any replica's ingest), with a re-check every second.
 */
export async function streamRuntimeLogs(
  request: FastifyRequest,
  reply: FastifyReply,
  input: { em: EntityManager; hub: Pick<NotifyHub, 'notified'>; options: LogStreamOptions },
): Promise<void> {
  const { em, hub, options } = input;
  const { out, closed, signal } = openEventStream(request, reply);
  /** Writes, then waits for the socket to drain when its buffer is full. */
  const write = async (text: string) => {
    if (closed()) return;
    if (!out.write(text)) await once(out, 'drain', { signal }).catch(() => undefined);
  };
  const resourceId = options.filter.resourceId;
  let cursor = options.cursor;
  if (cursor === null) {
    const tail = await tailLines(em.fork(), options.filter, options.tailLines);
    for (const row of tail) await write(frame({ schemaVersion, kind: 'line', line: lineView(row) }, String(row.id)));
    cursor = tail.at(-1)?.id ?? (await newestCursor(em.fork(), options.filter));
  }
  let lastBeat = Date.now();
  while (!closed()) {
    const page = await linesAfter(em.fork(), options.filter, cursor, pageSize);
    for (const row of page) {
      await write(frame({ schemaVersion, kind: 'line', line: lineView(row) }, String(row.id)));
      cursor = row.id;
    }
    if (page.length === pageSize) continue;
    if (!options.follow) {
      await write(frame({ schemaVersion, kind: 'closed', reason: 'completed', cursor: String(cursor) }));
      break;
    }
    if (Date.now() - lastBeat >= heartbeatMs) {
      await write(frame({ schemaVersion, kind: 'heartbeat', at: new Date().toISOString(), cursor: String(cursor) }));
      lastBeat = Date.now();
    }
    await hub.notified(runtimeLogsChannel, resourceId, Math.min(1_000, heartbeatMs - (Date.now() - lastBeat)));
  }
  out.end();
}
