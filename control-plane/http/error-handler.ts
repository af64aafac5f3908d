import { OptimisticLockError } from '@mikro-orm/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../shared/errors.js';
import { toEnvelope } from './error-envelope.js';
import { routeNotFound } from './route-not-found.js';
import { fromValidationError } from './validation-errors.js';

/** Sends `error` as the envelope with its status (and `Retry-After` when it has one). */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.ceil(error.retryAfterSeconds)));
  return reply.code(error.spec.httpStatus).type('application/json').send(toEnvelope(error, request.id));
}

// fastify's own client-error codes, translated to ours; anything else it throws with a 4xx status is a validation error.
function fromFastifyError(error: FastifyError): AppError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('body_too_large', 'The request body is larger than the limit.', {
        hint: 'Send a smaller body; the limit is set with BERTH_BODY_LIMIT_BYTES.',
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'The request body must be JSON.', {
        hint: 'Send the body with the header "Content-Type: application/json".',
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('validation_failed', 'The request body is not valid JSON.', {
        hint: 'Check quotes, commas and brackets; an empty body may be omitted entirely.',
      });
    default:
      if (error instanceof SyntaxError) {
        return new AppError('validation_failed', 'The request body is not valid JSON.', {
          hint: 'Check quotes, commas and brackets.',
        });
      }
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return new AppError('validation_failed', error.message);
      }
      return undefined;
  }
}

/**
 * Turns every failure into seed `000`'s envelope: our AppErrors by their kind, fastify's validation and parsing
 * errors as `VALIDATION_ERROR`, unknown routes as `NOT_FOUND`, and anything unexpected as `INTERNAL` (logged with
 * its stack; the client only sees the request id).
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      let appError: AppError;
      if (error instanceof AppError) appError = error;
      else if (error instanceof OptimisticLockError) {
        // What a write's own retries did not absorb: the client retries, it made no mistake and nothing was half-written.
        appError = new AppError('concurrent_update', 'The object changed while this request was writing it.', {
          hint: 'Retry the request.',
        });
      } else if (error.validation) appError = fromValidationError(error.validation, error.validationContext);
      else appError = fromFastifyError(error) ?? AppError.from(error);

      if (appError.kind === 'internal') request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: appError.spec.code, kind: appError.kind }, appError.message);
      return sendError(request, reply, appError);
    });

    app.setNotFoundHandler((request, reply) => sendError(request, reply, routeNotFound(request)));
  },
  { name: 'berth-error-handler' },
);
