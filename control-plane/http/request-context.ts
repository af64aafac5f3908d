import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors.js';
import type { AuthContext, Caller } from '../modules/identity/auth-context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's own unit of work (a fork of the ORM's EntityManager). */
    em: EntityManager;
    /** The authenticated caller; null on public routes. */
    auth: Caller | null;
  }
  interface FastifyContextConfig {
    /** Served without a bearer token (health, docs, bootstrap, login). */
    public?: boolean;
    /** Deploy tokens may call this route (reads within their scope, or a workflow command they hold). */
    deployTokens?: boolean;
    /** The token may come as `?access_token=` (a browser's WebSocket cannot send an Authorization header). */
    queryToken?: boolean;
  }
}

/** The caller of an authenticated route (a user or a deploy token). */
export function callerOf(request: FastifyRequest): Caller {
  if (request.auth === null) throw new AppError('unauthenticated', 'This route needs a bearer token.');
  return request.auth;
}

/** The caller of a route that only people may use (their account, their sessions, token management). */
export function userOf(request: FastifyRequest): AuthContext {
  const caller = callerOf(request);
  if (caller.kind !== 'user') {
    throw new AppError('forbidden_scope', 'Deploy tokens cannot use this route.', {
      hint: 'Log in as a user with POST /auth/sessions for account and organization management.',
    });
  }
  return caller;
}
