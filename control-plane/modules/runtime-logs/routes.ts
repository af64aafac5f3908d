import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { NotifyHub } from '../../db/notify-hub.js';
import { callerOf, userOf } from '../../http/request-context.js';
import { parseCursor } from './reads.js';
import {
  ArchiveBody,
  ArchiveCreated,
  ArchiveList,
  ArchiveListQuery,
  ArchiveParams,
  ArchivePruneBody,
  ArchivePruned,
  ArchiveShow,
  LogList,
  LogQuery,
  logStream,
  ResourceParams,
} from './schema.js';
import type { RuntimeLogService } from './service.js';
import { streamRuntimeLogs } from './stream.js';

/** Options of {@link runtimeLogRoutes}. */
export interface RuntimeLogRoutesOptions {
  logs: RuntimeLogService;
  hub: Pick<NotifyHub, 'notified'>;
}

const tags = ['resources'];
const isFalse = (value: unknown) => value === false || value === 'false' || value === '0';

/** A resource's runtime logs, live and stored, and their archives (seed 001 §2.7). */
export const runtimeLogRoutes: FastifyPluginAsyncTypebox<RuntimeLogRoutesOptions> = async (app, { logs, hub }) => {
  app.get(
    '/resources/:resourceId/runtime-logs',
    {
      config: { deployTokens: true },
      schema: {
        tags,
        summary: "The resource's runtime log: the last lines, or the lines after a cursor (every deployment)",
        params: ResourceParams,
        querystring: LogQuery,
        response: { 200: LogList },
      },
    },
    async (request) => logs.list(request.em, callerOf(request), request.params.resourceId, request.query),
  );
  app.get(
    '/resources/:resourceId/runtime-logs/stream',
    {
      config: { deployTokens: true },
      schema: {
        tags,
        summary: "Follow the resource's runtime log live across redeploys (SSE; resume with Last-Event-ID or cursor)",
        params: ResourceParams,
        querystring: LogQuery,
        response: { 200: logStream },
      },
    },
    async (request, reply) => {
      const { resourceId } = request.params;
      const filter = await logs.filterOf(request.em, callerOf(request), resourceId, request.query);
      const header = request.headers['last-event-id'];
      const resumeFrom = (typeof header === 'string' && header !== '' ? header : undefined) ?? request.query.cursor;
      await streamRuntimeLogs(request, reply, {
        em: request.em,
        hub,
        options: {
          filter,
          cursor: resumeFrom === undefined ? null : parseCursor(resumeFrom, header ? 'Last-Event-ID' : 'cursor'),
          tailLines: request.query.tailLines ?? 100,
          follow: !isFalse(request.query.follow),
        },
      });
    },
  );
  app.post(
    '/resources/:resourceId/runtime-log-archives',
    {
      schema: {
        tags,
        summary: "Keep a snapshot of the resource's last log lines (secrets already masked)",
        params: ResourceParams,
        body: ArchiveBody,
        response: { 200: ArchiveCreated },
      },
    },
    async (request) => logs.archive(request.em, userOf(request), request.params.resourceId, request.body ?? {}),
  );
  app.get(
    '/resources/runtime-log-archives',
    {
      schema: {
        tags,
        summary: 'List runtime log archives, newest first',
        querystring: ArchiveListQuery,
        response: { 200: ArchiveList },
      },
    },
    async (request) => logs.listArchives(request.em, userOf(request), request.query),
  );
  app.get(
    '/resources/runtime-log-archives/:archiveId',
    {
      schema: {
        tags,
        summary: 'Show one runtime log archive with its lines',
        params: ArchiveParams,
        response: { 200: ArchiveShow },
      },
    },
    async (request) => logs.showArchive(request.em, userOf(request), request.params.archiveId),
  );
  app.post(
    '/resources/runtime-log-archives/prune',
    {
      schema: {
        tags,
        summary: 'Delete runtime log archives captured before an instant (a dry run unless dryRun is false)',
        body: ArchivePruneBody,
        response: { 200: ArchivePruned },
      },
    },
    async (request) => logs.pruneArchives(request.em, userOf(request), request.body),
  );
};
