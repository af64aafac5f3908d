import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A Server-Sent Events response the route writes itself. */
export interface OpenEventStream {
  out: ServerResponse;
  /** Whether the client went away. */
  closed(): boolean;
  /** Fires once, when the client goes away. */
  signal: AbortSignal;
}

/**
 * Takes the response over from fastify and starts a `text/event-stream`: no caching or transforming by proxies,
 * no buffering by nginx-like ones, and the request id for the logs.
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): OpenEventStream {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  const abort = new AbortController();
  request.raw.on('close', () => abort.abort());
  return { out, closed: () => abort.signal.aborted, signal: abort.signal };
}
