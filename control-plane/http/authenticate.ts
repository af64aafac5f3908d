import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../shared/errors.js';
import type { DeployTokenService } from '../modules/deploy-tokens/service.js';
import { isDeployToken } from '../modules/deploy-tokens/service.js';
import type { SessionService } from '../modules/sessions/service.js';

/** Options of {@link authenticatePlugin}. */
export interface AuthenticateOptions {
  sessions: Pick<SessionService, 'authenticate'>;
  deployTokens: Pick<DeployTokenService, 'authenticate'>;
}

/**
 * Requires a valid bearer token on every route not marked `config.public`, and sets `request.auth`. A login-session
 * token works everywhere its user may go; a deploy token only on routes marked `config.deployTokens`. Runs for every
 * route, so a new route is protected unless it says otherwise.
 */
export const authenticatePlugin = fp<AuthenticateOptions>(
  async (app: FastifyInstance, { sessions, deployTokens }) => {
    app.decorateRequest('auth', null);
    app.addHook('onRequest', async (request) => {
      // Unknown routes answer NOT_FOUND whoever asks; public routes need no token.
      if (request.is404 || request.routeOptions.config.public === true) return;
      const queryToken =
        request.routeOptions.config.queryToken === true
          ? (request.query as { access_token?: unknown } | undefined)?.access_token
          : undefined;
      const header =
        request.headers.authorization || (typeof queryToken === 'string' ? `Bearer ${queryToken}` : undefined);
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
      const token = match[1]!;
      if (!isDeployToken(token)) {
        request.auth = await sessions.authenticate(request.em, token);
        return;
      }
      request.auth = await deployTokens.authenticate(request.em, token);
      if (request.routeOptions.config.deployTokens !== true) {
        throw new AppError('forbidden_scope', 'Deploy tokens cannot use this route.', {
          hint: 'Deploy tokens may read within their scope and run their workflow commands; log in as a user for the rest.',
        });
      }
    });
  },
  { name: 'berth-authenticate' },
);
