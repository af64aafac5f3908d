import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../shared/errors.js';
import type { SessionService } from '../modules/sessions/service.js';

/**
 * Requires a valid bearer token on every route not marked `config.public`; sets `request.auth`. Runs for every
 * route, so a new route is protected unless it says otherwise.
 */
export const authenticatePlugin = fp<{ sessions: Pick<SessionService, 'authenticate'> }>(
  async (app: FastifyInstance, { sessions }) => {
    app.decorateRequest('auth', null);
    app.addHook('onRequest', async (request) => {
      // Unknown routes answer NOT_FOUND whoever asks; public routes need no token.
      if (request.is404 || request.routeOptions.config.public === true) return;
      const header = request.headers.authorization;
      if (header === undefined || header === '') {
        throw new AppError('unauthenticated', 'This route needs a bearer token.', {
          hint: 'Log in with POST /auth/sessions and send "Authorization: Bearer <token>".',
        });
      }
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (match === null) {
        throw new AppError('unauthenticated', 'The Authorization header must be "Bearer <token>".', {
          hint: 'Log in with POST /auth/sessions to get a token.',
        });
      }
      request.auth = await sessions.authenticate(request.em, match[1]!);
    });
  },
  { name: 'berth-authenticate' },
);
