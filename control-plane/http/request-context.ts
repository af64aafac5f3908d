import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors.js';
import type { AuthContext } from '../modules/identity/auth-context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's own unit of work (a fork of the ORM's EntityManager). */
    em: EntityManager;
    /** The authenticated caller; null on public routes. */
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** Served without a bearer token (health, docs, bootstrap, login). */
    public?: boolean;
  }
}

/** The caller of an authenticated route; routes call this instead of reading `request.auth` and checking null. */
export function callerOf(request: FastifyRequest): AuthContext {
  if (request.auth === null) throw new AppError('unauthenticated', 'This route needs a bearer token.');
  return request.auth;
}
