import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../../http/request-context.js';
import type { DeploymentReads } from './reads.js';
import {
  ArchiveResult,
  ConfirmBody,
  DeploymentParams,
  PlanQuery,
  PlanResult,
  RecoveryQuery,
  RecoveryReadiness,
} from './schema.js';
import type { DeploymentService } from './service.js';

const tags = ['deployments'];

/** The plan preview, recovery readiness and archive of seed 001 (docs/deployments.md); registered by routes.ts. */
export const deploymentRecoveryRoutes: FastifyPluginAsyncTypebox<{
  deployments: DeploymentService;
  reads: DeploymentReads;
}> = async (app, { deployments, reads }) => {
  app.get(
    '/deployments/plan',
    {
      // Deploy tokens may preview within their scope, as they may deploy.
      config: { deployTokens: true },
      schema: {
        tags,
        summary: 'Preview what POST /deployments would do, without creating anything',
        querystring: PlanQuery,
        response: { 200: PlanResult },
      },
    },
    async (request) => deployments.plan(request.em, callerOf(request), request.query),
  );

  app.get(
    '/deployments/:deploymentId/recovery-readiness',
    {
      config: { deployTokens: true },
      schema: {
        tags,
        summary: 'Whether the deployment can be retried, redeployed or rolled back now, and to what',
        params: DeploymentParams,
        querystring: RecoveryQuery,
        response: { 200: RecoveryReadiness },
      },
    },
    async (request) =>
      reads.recoveryReadiness(request.em, callerOf(request), request.params.deploymentId, request.query),
  );

  app.post(
    '/deployments/:deploymentId/archive',
    {
      schema: {
        tags,
        summary: 'Archive a deployment that ended (confirm repeats its id); lists leave it out',
        params: DeploymentParams,
        body: ConfirmBody,
        response: { 200: ArchiveResult },
      },
    },
    async (request) =>
      deployments.archive(request.em, callerOf(request), request.params.deploymentId, request.body.confirm),
  );
};
