import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../shared/errors.js';

/**
 * Clients of the reference API repeat path parameters in the body (`{"projectId": …}` to `/projects/{projectId}/…`).
 * Before validation, a body field that equals its path parameter is dropped; a different value is refused, so the
 * path alone decides what is addressed. An absent body becomes `{}`, so optional-body routes need no special case
 * and required fields are reported by name.
 */
export const pathParamsInBodyPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('preValidation', async (request) => {
      if (!request.routeOptions.schema?.body) return;
      if (request.body === undefined || request.body === null) request.body = {};
      const body = request.body as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) return;
      for (const [name, value] of Object.entries((request.params ?? {}) as Record<string, string>)) {
        if (!(name in body)) continue;
        if (body[name] !== value) {
          throw new AppError('validation_failed', `Body field "${name}" differs from the path's "${name}".`, {
            field: name,
            hint: `Omit "${name}" from the body or send the same value as in the path ("${value}").`,
          });
        }
        delete body[name];
      }
    });
  },
  { name: 'berth-path-params-in-body' },
);
