import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import type { HealthHistory as History } from './health-history.js';
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
const HistoryQuery = Type.Object({
  'window.from': Type.Optional(Type.String({ format: 'date-time' })),
  'window.to': Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 720, default: 200 })),
});
const HealthHistory = Type.Object({
  schemaVersion: Type.Literal('resources.health-history/v1'),
  resourceId: Type.String(),
  from: Type.String(),
  to: Type.String(),
  generatedAt: Type.String(),
  observations: Type.Array(
    Type.Object({
      observationId: Type.String(),
      observedAt: Type.String(),
      overall: Type.String(),
      runtimeLifecycle: Type.String(),
      runtimeHealth: Type.String(),
      publicAccessStatus: Type.String(),
      proxyStatus: Type.String(),
      healthPolicyStatus: Type.String(),
      latestDeploymentId: Type.Union([Type.String(), Type.Null()]),
      summary: Type.Unknown({ description: 'The resources.health/v1 summary as it was then.' }),
    }),
  ),
  sourceErrors: Type.Array(Type.Unknown()),
});

export const runtimeRoutes: FastifyPluginAsyncTypebox<{
  runtime: RuntimeService;
  history: History;
}> = async (app, { runtime, history }) => {
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
    async (request) => history.readAndRecord(request.em, callerOf(request), request.params.resourceId),
  );
  app.get(
    '/resources/:resourceId/health-history',
    {
      config: { deployTokens: true },
      schema: {
        tags,
        summary: "The resource's health as the periodic checks (and live reads) observed it, newest first",
        params: Params,
        querystring: HistoryQuery,
        response: { 200: HealthHistory },
      },
    },
    async (request) =>
      history.list(request.em, callerOf(request), request.params.resourceId, {
        from: request.query['window.from'],
        to: request.query['window.to'],
        limit: request.query.limit,
      }),
  );
};
