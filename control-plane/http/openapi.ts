import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { berthVersion } from '../../shared/version.js';
import { errorEnvelopeSchema } from './error-envelope.js';

const errorResponse = { $ref: 'ErrorEnvelope#' };

/**
 * Describes every route in OpenAPI 3.1 (served at `GET /openapi.json`, browsable at `/docs`). Each route with a
 * schema also documents the error envelope for 4XX and 5XX answers, and public routes say they need no token.
 * Register before any route: both hooks see routes only as they are added.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  app.addSchema(errorEnvelopeSchema);
  app.addHook('onRoute', (route) => {
    if (route.schema === undefined) return;
    const response = (route.schema.response ?? {}) as Record<string, unknown>;
    route.schema.response = { ...response, '4XX': errorResponse, '5XX': errorResponse };
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Berth API',
        version: berthVersion,
        description:
          'The Berth control plane. Every route also answers under /api. Errors use one envelope: ' +
          '{code, message, field, hint, requestId, category, retryable, details}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json['$id'] ?? `schema${i}`) },
    transform: ({ schema, url, route }) => {
      const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
      return { schema: isPublic ? ({ ...schema, security: [] } as typeof schema) : schema, url };
    },
  });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  // The UI's own routes are registered in their own scope, where every route is marked public.
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), public: true };
    });
    await scope.register(swaggerUi, { routePrefix: '/docs' });
  });
}
