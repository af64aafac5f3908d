import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { openEventStream } from '../../http/event-stream.js';
import { eventsAfter, isTerminal, latestEvents, toEnvelope } from './events.js';
import type { DeploymentWaits } from './wait.js';

/** Stream options from the query string and the Last-Event-ID header. */
export interface StreamOptions {
  cursor: string | null;
  includeHistory: boolean;
  historyLimit: number;
  untilTerminal: boolean;
  follow: boolean;
}

const heartbeatMs = 15_000;
const pollMs = 1_000;

/**
 * Serves a deployment's events as Server-Sent Events: each frame's `id:` is the event's cursor and its `data:` the
 * `deployments.stream-events/v1` envelope. Resuming after a cursor sends exactly the later events; a comment line
 * every 15 s keeps proxies from closing a quiet stream; with `untilTerminal` the stream ends after the deployment's
 * last event, with a final `terminal` frame.
 */
export async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  input: { em: EntityManager; deploymentId: string; options: StreamOptions; waits: Pick<DeploymentWaits, 'changed'> },
): Promise<void> {
  const { em, deploymentId, options, waits } = input;
  const { out, closed: isClosed } = openEventStream(request, reply);
  const write = (text: string) => {
    if (!isClosed()) out.write(text);
  };
  let cursor = options.cursor;
  if (cursor === null && options.includeHistory) {
    const history = await latestEvents(em.fork(), deploymentId, options.historyLimit);
    for (const event of history) write(frame(toEnvelope(event), String(event.id)));
    cursor = history.at(-1) === undefined ? '0' : String(history.at(-1)!.id);
  } else if (cursor === null) {
    const newest = await latestEvents(em.fork(), deploymentId, 1);
    cursor = newest[0] === undefined ? '0' : String(newest[0].id);
  }
  let lastBeat = Date.now();
  while (!isClosed()) {
    const batch = await eventsAfter(em.fork(), deploymentId, cursor, 200);
    for (const event of batch) {
      write(frame(toEnvelope(event), String(event.id)));
      cursor = String(event.id);
    }
    if (batch.length === 200) continue;
    if (!options.follow) break;
    if (options.untilTerminal && (await isTerminal(em, deploymentId))) {
      // Events written with the terminal status may have landed after the read above.
      const rest = await eventsAfter(em.fork(), deploymentId, cursor, 1000);
      for (const event of rest) write(frame(toEnvelope(event), String(event.id)));
      write(frame({ schemaVersion: 'deployments.stream-events/v1', kind: 'terminal', deploymentId }, undefined));
      break;
    }
    if (Date.now() - lastBeat >= heartbeatMs) {
      write(': heartbeat\n\n');
      lastBeat = Date.now();
    }
    await waits.changed(deploymentId, Math.min(pollMs, heartbeatMs - (Date.now() - lastBeat)));
  }
  out.end();
}

function frame(data: unknown, id: string | undefined): string {
  return `${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}
