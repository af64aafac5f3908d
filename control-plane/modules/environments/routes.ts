import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import { JsonNull, SetVariableBody, UnsetVariableBody } from '../configuration/schema.js';
import {
  CountQuery,
  CreateBody,
  EffectivePrecedence,
  EmptyBody,
  EnvironmentList,
  EnvironmentParams,
  EnvironmentView,
  ListQuery,
  ReasonBody,
  RenameBody,
  VariableParams,
} from './schema.js';
import type { EnvironmentService } from './service.js';

const tags = ['environments'];
// Reads that deploy tokens may make (within their scope); every change needs a user.
const readable = { deployTokens: true };
const IdResult = Type.Object({ id: Type.String() });
const CountResult = Type.Object({ count: Type.Integer() });

/** The environment endpoints of seed 001 (clone, promote and diff are not built yet). */
export const environmentRoutes: FastifyPluginAsyncTypebox<{ environments: EnvironmentService }> = async (
  app,
  { environments },
) => {
  app.get(
    '/environments/count',
    {
      config: readable,
      schema: { tags, summary: 'Count environments', querystring: CountQuery, response: { 200: CountResult } },
    },
    async (request) => environments.count(request.em, callerOf(request), request.query.projectId),
  );

  app.get(
    '/environments',
    {
      config: readable,
      schema: {
        tags,
        summary: 'List environments (variables masked)',
        querystring: ListQuery,
        response: { 200: EnvironmentList },
      },
    },
    async (request) => environments.list(request.em, callerOf(request), request.query),
  );

  app.post(
    '/environments',
    { schema: { tags, summary: 'Create an environment in a project', body: CreateBody, response: { 201: IdResult } } },
    async (request, reply) =>
      reply.code(201).send(await environments.create(request.em, userOf(request), request.body)),
  );

  app.get(
    '/environments/:environmentId',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Show an environment (variables masked)',
        params: EnvironmentParams,
        response: { 200: EnvironmentView },
      },
    },
    async (request) => environments.show(request.em, callerOf(request), request.params.environmentId),
  );

  app.post(
    '/environments/:environmentId/rename',
    {
      schema: {
        tags,
        summary: 'Rename an active environment',
        params: EnvironmentParams,
        body: RenameBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      environments.rename(request.em, userOf(request), request.params.environmentId, request.body.name),
  );

  app.post(
    '/environments/:environmentId/lock',
    {
      schema: {
        tags,
        summary: 'Lock an environment: it stays readable and refuses configuration changes and deployments',
        params: EnvironmentParams,
        body: ReasonBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      environments.lock(request.em, userOf(request), request.params.environmentId, request.body?.reason),
  );

  app.post(
    '/environments/:environmentId/unlock',
    {
      schema: {
        tags,
        summary: 'Unlock an environment',
        params: EnvironmentParams,
        body: EmptyBody,
        response: { 200: IdResult },
      },
    },
    async (request) => environments.unlock(request.em, userOf(request), request.params.environmentId),
  );

  app.post(
    '/environments/:environmentId/archive',
    {
      schema: {
        tags,
        summary: 'Archive an environment: it stays readable and accepts no other change',
        params: EnvironmentParams,
        body: ReasonBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      environments.archive(request.em, userOf(request), request.params.environmentId, request.body?.reason),
  );

  app.post(
    '/environments/:environmentId/variables',
    {
      schema: {
        tags,
        summary: 'Set an environment variable (kind "secret" is stored encrypted and read back as ****)',
        params: EnvironmentParams,
        body: SetVariableBody,
        response: { 200: JsonNull },
      },
    },
    async (request) =>
      environments.setVariable(request.em, userOf(request), request.params.environmentId, request.body),
  );

  app.delete(
    '/environments/:environmentId/variables/:key',
    {
      schema: {
        tags,
        summary: 'Remove an environment variable',
        params: VariableParams,
        body: UnsetVariableBody,
        response: { 200: JsonNull },
      },
    },
    async (request) =>
      environments.unsetVariable(
        request.em,
        userOf(request),
        request.params.environmentId,
        request.params.key,
        request.body?.exposure,
      ),
  );

  app.get(
    '/environments/:environmentId/effective-precedence',
    {
      config: readable,
      schema: {
        tags,
        summary: "An environment's variables after precedence (masked)",
        params: EnvironmentParams,
        response: { 200: EffectivePrecedence },
      },
    },
    async (request) => environments.effectivePrecedence(request.em, callerOf(request), request.params.environmentId),
  );
};
