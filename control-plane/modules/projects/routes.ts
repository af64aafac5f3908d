import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import {
  ArchiveBody,
  CountResult,
  CreateBody,
  DeleteBody,
  DeleteCheck,
  DescriptionBody,
  EmptyBody,
  IdResult,
  ListQuery,
  ProjectList,
  ProjectParams,
  ProjectView,
  RenameBody,
} from './schema.js';
import type { ProjectService } from './service.js';

const tags = ['projects'];
// Reads that deploy tokens may make (within their scope); every change needs a user.
const readable = { deployTokens: true };

/** The ten project endpoints of seed 001. */
export const projectRoutes: FastifyPluginAsyncTypebox<{ projects: ProjectService }> = async (app, { projects }) => {
  app.get(
    '/projects/count',
    { config: readable, schema: { tags, summary: 'Count projects', response: { 200: CountResult } } },
    async (request) => projects.count(request.em, callerOf(request)),
  );

  app.get(
    '/projects',
    {
      config: readable,
      schema: { tags, summary: 'List projects', querystring: ListQuery, response: { 200: ProjectList } },
    },
    async (request) => projects.list(request.em, callerOf(request), request.query),
  );

  app.post(
    '/projects',
    { schema: { tags, summary: 'Create a project', body: CreateBody, response: { 201: IdResult } } },
    async (request, reply) => reply.code(201).send(await projects.create(request.em, userOf(request), request.body)),
  );

  app.get(
    '/projects/:projectId',
    {
      config: readable,
      schema: { tags, summary: 'Show a project', params: ProjectParams, response: { 200: ProjectView } },
    },
    async (request) => projects.show(request.em, callerOf(request), request.params.projectId),
  );

  app.delete(
    '/projects/:projectId',
    {
      schema: {
        tags,
        summary: 'Delete an archived project (confirmation.projectId must repeat its id)',
        params: ProjectParams,
        body: DeleteBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      projects.remove(request.em, userOf(request), request.params.projectId, request.body.confirmation.projectId),
  );

  app.post(
    '/projects/:projectId/rename',
    {
      schema: {
        tags,
        summary: 'Rename a project',
        params: ProjectParams,
        body: RenameBody,
        response: { 200: IdResult },
      },
    },
    async (request) => projects.rename(request.em, userOf(request), request.params.projectId, request.body.name),
  );

  app.post(
    '/projects/:projectId/description',
    {
      schema: {
        tags,
        summary: "Set or clear a project's description",
        params: ProjectParams,
        body: DescriptionBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      projects.describe(request.em, userOf(request), request.params.projectId, request.body.description),
  );

  app.post(
    '/projects/:projectId/archive',
    {
      schema: {
        tags,
        summary: 'Archive a project',
        params: ProjectParams,
        body: ArchiveBody,
        response: { 200: IdResult },
      },
    },
    async (request) => projects.archive(request.em, userOf(request), request.params.projectId, request.body.reason),
  );

  app.post(
    '/projects/:projectId/restore',
    {
      schema: {
        tags,
        summary: 'Restore an archived project',
        params: ProjectParams,
        body: EmptyBody,
        response: { 200: IdResult },
      },
    },
    async (request) => projects.restore(request.em, userOf(request), request.params.projectId),
  );

  app.get(
    '/projects/:projectId/delete-check',
    {
      config: readable,
      schema: {
        tags,
        summary: 'What blocks deleting a project',
        params: ProjectParams,
        response: { 200: DeleteCheck },
      },
    },
    async (request) => projects.deleteCheck(request.em, callerOf(request), request.params.projectId),
  );
};
