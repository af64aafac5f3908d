import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../shared/errors.js';

// The first path (dotted) under `value` whose string contains a NUL character, if any.
function findNul(value: unknown, path: string[]): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = findNul(child, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

const partNames = { params: 'Path parameter', query: 'Query parameter', body: 'Body field' } as const;

/**
 * PostgreSQL cannot store the NUL character, so a `%00` in a path or a `\u0000` in a body would reach the database
 * and fail there as a 500. Refuse it at the edge, naming the field, like any other invalid input.
 */
export const nulCharactersPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('preValidation', async (request) => {
      for (const part of ['params', 'query', 'body'] as const) {
        const path = findNul(request[part], []);
        if (path === undefined) continue;
        const field = path.join('.');
        throw new AppError('validation_failed', `${partNames[part]} "${field}" contains a NUL character.`, {
          ...(field === '' ? {} : { field }),
          hint: 'Remove control characters from the value.',
        });
      }
    });
  },
  { name: 'berth-nul-characters' },
);
