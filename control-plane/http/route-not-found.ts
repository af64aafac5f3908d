import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../shared/errors.js';
import { type IdKind, idPrefixes, newId } from '../../shared/ids.js';
import { toEnvelope } from './error-envelope.js';

/**
 * The route-not-found error for `request`, naming the path as the client called it (with its `/api` prefix, if it
 * used one; without the query string).
 */
export function routeNotFound(request: FastifyRequest, hint = 'GET /openapi.json lists every route.'): AppError {
  const path = (request.originalUrl ?? request.url).split('?')[0];
  return new AppError('route_not_found', `No route ${request.method} ${path}.`, { hint });
}

// Path parameters that name an object of one kind: `<kind>Id`, plus the seed's shorter names.
const parameterKinds = new Map<string, IdKind>([
  ...(Object.keys(idPrefixes) as IdKind[]).map((kind) => [`${kind}Id`, kind] as const),
  ['tokenId', 'deployToken'],
  ['credentialId', 'sshCredential'],
  ['memberId', 'membership'],
]);
// The seed reuses `sessionId` under /terminal-sessions for a terminal session, not a login session.
const routeParameterKinds = new Map<string, IdKind>([['sessionId', 'terminalSession']]);

/**
 * The first path parameter that cannot be an id of the kind its route addresses: every Berth id starts with its
 * kind's prefix (`prj-`, `res-`, …), so `/deployments/stale` or `/resources/runtime-log-archives` is a route that does
 * not exist, not an object that does not.
 */
function impossibleId(
  params: unknown,
  route: string | undefined,
): { name: string; value: string; prefix: string } | undefined {
  if (params === null || typeof params !== 'object') return undefined;
  for (const [name, value] of Object.entries(params)) {
    const kind =
      (route?.includes('/terminal-sessions/') ? routeParameterKinds.get(name) : undefined) ?? parameterKinds.get(name);
    if (kind === undefined || typeof value !== 'string') continue;
    const prefix = `${idPrefixes[kind]}-`;
    if (!value.startsWith(prefix)) return { name, value: value.length > 60 ? `${value.slice(0, 60)}…` : value, prefix };
  }
  return undefined;
}

/**
 * Parameters longer than this reach the route and are validated by its schema (which names the parameter); the
 * router's own default (100) would answer fastify's 414 body instead. 16 KiB is Node's whole request-head limit.
 */
const maxParamLength = 16 * 1024;

// Failures the router raises before any hook runs (a parameter over the limit, a malformed percent-encoding).
function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  const appError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('validation_failed', `A path parameter is longer than ${maxParamLength} characters.`, {
          hint: 'Path parameters are ids and keys of at most a few hundred characters; check how the URL is built.',
        })
      : error.code === 'FST_ERR_BAD_URL'
        ? new AppError('validation_failed', 'The path is not a valid URL: a percent-escape is malformed.', {
            hint: 'Encode path parameters with encodeURIComponent.',
          })
        : AppError.from(error);
  if (appError.kind === 'internal') request.log.error({ err: error }, 'routing failed');
  else request.log.info({ code: appError.spec.code, kind: appError.kind }, appError.message);
  reply.code(appError.spec.httpStatus).type('application/json').send(toEnvelope(appError, request.id));
}

/**
 * Failures Node's HTTP parser raises before fastify sees a request (a request head over 16 KiB, bytes that are not
 * HTTP): answered in the envelope too, written on the socket as fastify's default handler does.
 */
function clientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const appError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('request_head_too_large', 'The request URL and headers are larger than 16 KiB.', {
          hint: 'Path parameters are ids and keys of at most a few hundred characters; check how the URL is built.',
        })
      : new AppError('validation_failed', 'The request is not valid HTTP.');
  const requestId = newId('request');
  const body = JSON.stringify(toEnvelope(appError, requestId));
  const status = appError.spec.httpStatus;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `x-request-id: ${requestId}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Options for the fastify constructor: the router's limits and how its own failures answer (in the envelope). */
export const routerErrorOptions = {
  routerOptions: { maxParamLength },
  frameworkErrors: frameworkError,
  clientErrorHandler: clientError,
};

/**
 * Answers route-not-found, not "object not found", when a path parameter cannot be an id of its route's kind (the
 * rule in docs/decisions.md). Runs after authentication, so a caller without a token still gets 401 first.
 */
export const routeNotFoundPlugin = fp(
  async (app: FastifyInstance) => {
    // After validation, where the object lookup it replaces would happen: a malformed body is still named first.
    app.addHook('preHandler', async (request) => {
      const impossible = impossibleId(request.params, request.routeOptions.url);
      if (impossible === undefined) return;
      throw routeNotFound(
        request,
        `"${impossible.value}" is not a ${impossible.name} (those start with "${impossible.prefix}"), so this path is no route; GET /openapi.json lists every route.`,
      );
    });
  },
  { name: 'berth-route-not-found', dependencies: ['berth-error-handler'] },
);
