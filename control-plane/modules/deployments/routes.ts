import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../../http/request-context.js';
import { type StreamOptions, streamEvents } from './event-stream.js';
import { eventsAfter, latestEvents, toEnvelope } from './events.js';
import type { DeploymentReads } from './reads.js';
import { deploymentRecoveryRoutes } from './recovery-routes.js';
import {
  CancelResult,
  ConfirmBody,
  CountResult,
  DeployBody,
  DeploymentList,
  DeploymentParams,
  DeploymentShow,
  DeployResult,
  EmptyBody,
  EventList,
  EventsQuery,
  eventStream,
  IdResult,
  ListQuery,
  Logs,
  RedeployBody,
  ResourceParams,
  RollbackBody,
} from './schema.js';
import type { DeploymentService } from './service.js';
import type { DeploymentWaits } from './wait.js';

const tags = ['deployments'];
// Deploy tokens may read and deploy within their scope (and their workflow commands); the service checks both.
const tokens = { deployTokens: true };

function streamOptions(
  query: {
    cursor?: string;
    historyLimit?: number;
    includeHistory?: boolean;
    follow?: boolean;
    untilTerminal?: boolean;
  },
  lastEventId: unknown,
): StreamOptions {
  const resumeFrom = typeof lastEventId === 'string' && /^[0-9]+$/.test(lastEventId) ? lastEventId : undefined;
  return {
    cursor: resumeFrom ?? query.cursor ?? null,
    includeHistory: query.includeHistory ?? true,
    historyLimit: query.historyLimit ?? 100,
    follow: query.follow ?? true,
    untilTerminal: query.untilTerminal ?? false,
  };
}

/** The deployment endpoints of seed 001 (docs/deployments.md). */
export const deploymentRoutes: FastifyPluginAsyncTypebox<{
  deployments: DeploymentService;
  reads: DeploymentReads;
  waits: DeploymentWaits;
}> = async (app, { deployments, reads, waits }) => {
  await app.register(deploymentRecoveryRoutes, { deployments, reads });

  app.get(
    '/deployments/count',
    {
      config: tokens,
      schema: { tags, summary: 'Count deployments', querystring: ListQuery, response: { 200: CountResult } },
    },
    async (request) => reads.count(request.em, callerOf(request), request.query),
  );

  app.get(
    '/deployments',
    {
      config: tokens,
      schema: {
        tags,
        summary: 'List deployments, newest first (with their last log lines)',
        querystring: ListQuery,
        response: { 200: DeploymentList },
      },
    },
    async (request) => reads.list(request.em, callerOf(request), request.query),
  );

  app.post(
    '/deployments',
    {
      config: tokens,
      schema: {
        tags,
        summary: "Deploy a resource's current configuration to a server",
        body: DeployBody,
        response: { 201: DeployResult },
      },
    },
    async (request, reply) => {
      const { executionMode, idempotencyKey: _key, ...input } = request.body;
      const { id } = await deployments.create(request.em, callerOf(request), input);
      if (executionMode !== 'synchronous') return reply.code(201).send({ id });
      // Bounded: a client waiting on a stuck deployment gets its status after 10 minutes, not never.
      const { status } = await waits.untilTerminal(request.em, id, 10 * 60_000);
      return reply.code(201).send({ id, status });
    },
  );

  app.post(
    '/deployments/stream',
    {
      config: tokens,
      schema: {
        tags,
        summary: 'Deploy and stream the deployment’s events until it ends (Server-Sent Events)',
        body: DeployBody,
        response: { 200: eventStream },
      },
    },
    async (request, reply) => {
      const { id } = await deployments.create(request.em, callerOf(request), request.body);
      const options = { cursor: null, includeHistory: true, historyLimit: 200, follow: true, untilTerminal: true };
      await streamEvents(request, reply, { em: request.em, deploymentId: id, options, waits });
    },
  );

  app.get(
    '/deployments/:deploymentId',
    {
      config: tokens,
      schema: {
        tags,
        summary: 'Show a deployment with its snapshot, timeline and recovery summary',
        params: DeploymentParams,
        response: { 200: DeploymentShow },
      },
    },
    async (request) => reads.show(request.em, callerOf(request), request.params.deploymentId),
  );

  app.get(
    '/deployments/:deploymentId/logs',
    {
      config: tokens,
      schema: {
        tags,
        summary: "A deployment's log (Berth's steps and the container's output while verified)",
        params: DeploymentParams,
        response: { 200: Logs },
      },
    },
    async (request) => reads.logs(request.em, callerOf(request), request.params.deploymentId),
  );

  for (const path of ['/deployments/:deploymentId/events', '/deployments/:deploymentId/timeline']) {
    app.get(
      path,
      {
        config: tokens,
        schema: {
          tags,
          summary: "A deployment's events after a cursor (or its latest ones)",
          params: DeploymentParams,
          querystring: EventsQuery,
          response: { 200: EventList },
        },
      },
      async (request) => {
        const { deploymentId } = request.params;
        await deployments.load(request.em, callerOf(request), deploymentId);
        const limit = request.query.historyLimit ?? 100;
        const events = request.query.cursor
          ? await eventsAfter(request.em, deploymentId, request.query.cursor, limit)
          : await latestEvents(request.em, deploymentId, limit);
        return {
          deploymentId,
          envelopes: events.map(toEnvelope),
          nextCursor: events.length === 0 ? (request.query.cursor ?? null) : String(events.at(-1)!.id),
        };
      },
    );
  }

  for (const path of ['/deployments/:deploymentId/events/stream', '/deployments/:deploymentId/timeline/stream']) {
    app.get(
      path,
      {
        config: tokens,
        schema: {
          tags,
          summary: "Stream a deployment's events (SSE; resume with Last-Event-ID or cursor; untilTerminal ends it)",
          params: DeploymentParams,
          querystring: EventsQuery,
          response: { 200: eventStream },
        },
      },
      async (request, reply) => {
        const { deploymentId } = request.params;
        await deployments.load(request.em, callerOf(request), deploymentId);
        const options = streamOptions(request.query, request.headers['last-event-id']);
        await streamEvents(request, reply, { em: request.em, deploymentId, options, waits });
      },
    );
  }

  app.post(
    '/deployments/:deploymentId/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a deployment under way (confirm repeats its id)',
        params: DeploymentParams,
        body: ConfirmBody,
        response: { 200: CancelResult },
      },
    },
    async (request) =>
      deployments.cancel(request.em, callerOf(request), request.params.deploymentId, request.body.confirm),
  );

  app.post(
    '/deployments/:deploymentId/retry',
    {
      config: tokens,
      schema: {
        tags,
        summary: 'Run the same snapshot again after a failure',
        params: DeploymentParams,
        body: EmptyBody,
        response: { 201: IdResult },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await deployments.retry(request.em, callerOf(request), request.params.deploymentId)),
  );

  app.post(
    '/deployments/:deploymentId/rollback',
    {
      config: tokens,
      schema: {
        tags,
        summary: 'Roll back to an earlier successful deployment',
        params: DeploymentParams,
        body: RollbackBody,
        response: { 201: IdResult },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await deployments.rollback(
            request.em,
            callerOf(request),
            request.params.deploymentId,
            request.body?.rollbackCandidateDeploymentId,
          ),
        ),
  );

  app.post(
    '/resources/:resourceId/redeploy',
    {
      config: tokens,
      schema: {
        tags,
        summary: "Deploy the resource's current configuration again",
        params: ResourceParams,
        body: RedeployBody,
        response: { 201: IdResult },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await deployments.redeploy(request.em, callerOf(request), request.params.resourceId, request.body?.serverId),
        ),
  );
};
