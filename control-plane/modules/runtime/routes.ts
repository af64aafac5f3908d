import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import type { createResourceHealth } from './health.js';
import type { RuntimeService } from './service.js';

const tags = ['resources'];
const Params = Type.Object({ resourceId: Type.String({ minLength: 1, maxLength: 100 }) });
const EmptyBody = Type.Object({}, { additionalProperties: false });
const Attempt = Type.Object({
  runtimeControlAttemptId: Type.String(),
  operation: Type.String({ examples: ['stop', 'start', 'restart'] }),
  status: Type.String({ examples: ['succeeded', 'failed', 'accepted'] }),
  startedAt: Type.String({ format: 'date-time' }),
  completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  runtimeState: Type.String({ examples: ['running', 'stopped'] }),
  blockedReason: Type.Union([Type.String(), Type.Null()]),
  errorCode: Type.Union([Type.String(), Type.Null()]),
  errorMessage: Type.Union([Type.String(), Type.Null()]),
  phases: Type.Array(
    Type.Object({ phase: Type.String(), status: Type.String(), errorCode: Type.Union([Type.String(), Type.Null()]) }),
  ),
});
const HealthQuery = Type.Object({
  mode: Type.Optional(
    Type.Enum(['cached', 'live'], { description: 'Both ask the agent: Berth shows no stale cache.' }),
  ),
  includeChecks: Type.Optional(Type.Boolean()),
  includePublicAccessProbe: Type.Optional(Type.Boolean()),
  includeRuntimeProbe: Type.Optional(Type.Boolean()),
});
const Health = Type.Object(
  {
    schemaVersion: Type.Literal('resources.health/v1'),
    resourceId: Type.String(),
    generatedAt: Type.String({ format: 'date-time' }),
    observedAt: Type.String({ format: 'date-time' }),
    overall: Type.String({ examples: ['healthy', 'unhealthy', 'unknown', 'not-deployed'] }),
    latestDeployment: Type.Unknown(),
    runtime: Type.Unknown(),
    latestRuntimeControl: Type.Unknown(),
    healthPolicy: Type.Unknown(),
    publicAccess: Type.Unknown(),
    proxy: Type.Unknown(),
    checks: Type.Array(Type.Unknown()),
    sourceErrors: Type.Array(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** `POST /resources/{id}/runtime/{stop,start,restart}` and `GET /resources/{id}/health`. */
export const runtimeRoutes: FastifyPluginAsyncTypebox<{
  runtime: RuntimeService;
  health: ReturnType<typeof createResourceHealth>;
}> = async (app, { runtime, health }) => {
  for (const operation of ['stop', 'start', 'restart'] as const) {
    app.post(
      `/resources/:resourceId/runtime/${operation}`,
      {
        schema: {
          tags,
          summary: `${operation[0]!.toUpperCase()}${operation.slice(1)} the resource's running container, without a new deployment`,
          params: Params,
          body: EmptyBody,
          response: { 200: Attempt },
        },
      },
      async (request) => runtime.control(request.em, userOf(request), request.params.resourceId, operation),
    );
  }

  app.get(
    '/resources/:resourceId/health',
    {
      config: { deployTokens: true },
      schema: {
        tags,
        summary: 'What runs for the resource now, and whether it is healthy (asks the agent)',
        params: Params,
        querystring: HealthQuery,
        response: { 200: Health },
      },
    },
    async (request) => health(request.em, callerOf(request), request.params.resourceId),
  );
};
