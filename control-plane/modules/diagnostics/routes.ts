import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../../http/request-context.js';
import type { DiagnosticSummary } from './summary.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Flag = Type.Boolean({ description: 'true/false (also 1/0)' });
const Section = Type.Unknown();

/** `GET /resources/{id}/diagnostic-summary` (seed 001 §2.7). */
export const diagnosticRoutes: FastifyPluginAsyncTypebox<{ summary: DiagnosticSummary }> = async (app, { summary }) => {
  app.get(
    '/resources/:resourceId/diagnostic-summary',
    {
      config: { deployTokens: true },
      schema: {
        tags: ['resources'],
        summary: 'What is wrong with a resource and what to do: deployment, access, proxy, logs, health and findings',
        params: Type.Object({ resourceId: Id }),
        querystring: Type.Object({
          deploymentId: Type.Optional(Id),
          observationFrom: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
          observationTo: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
          includeDeploymentLogTail: Type.Optional(Flag),
          includeRuntimeLogTail: Type.Optional(Flag),
          includeProxyConfiguration: Type.Optional(Flag),
          tailLines: Type.Optional(Type.Integer({ minimum: 0, maximum: 200, default: 20 })),
          locale: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
        }),
        response: {
          200: Type.Object({
            schemaVersion: Type.Literal('resources.diagnostic-summary/v1'),
            generatedAt: Type.String(),
            focus: Section,
            context: Section,
            deployment: Section,
            access: Section,
            proxy: Section,
            deploymentLogs: Section,
            runtimeLogs: Section,
            health: Section,
            diagnosis: Type.Object({
              status: Type.Enum(['ok', 'attention', 'problem']),
              findings: Type.Array(
                Type.Object({
                  code: Type.String(),
                  severity: Type.Enum(['error', 'warning']),
                  message: Type.String(),
                  nextAction: Type.String(),
                }),
              ),
            }),
            system: Section,
            sourceErrors: Type.Array(Type.Unknown()),
            redaction: Section,
            copy: Type.Object({ json: Type.String(), markdown: Type.String(), plainText: Type.String() }),
          }),
        },
      },
    },
    async (request) =>
      summary(request.em, callerOf(request), request.params.resourceId, { ...request.query, requestId: request.id }),
  );
};
