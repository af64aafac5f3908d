import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, type TSchema, Type } from 'typebox';
import { callerOf, userOf } from '../../http/request-context.js';
import { JsonNull, SetVariableBody, UnsetVariableBody } from '../configuration/schema.js';
import {
  AccessProfileBody,
  CountQuery,
  CreateBody,
  DeleteBody,
  DeleteSecretBody,
  EffectiveConfig,
  EmptyBody,
  ExposureQuery,
  HealthPolicyBody,
  ImportBody,
  ImportResult,
  KeyParams,
  ListQuery,
  NetworkProfileBody,
  ReasonBody,
  ResourceList,
  ResourceParams,
  ResourceShow,
  RotateSecretBody,
  RuntimeProfileBody,
  SecretBody,
  SecretList,
  SecretResult,
  SecretShow,
  ShowQuery,
  SourceBody,
} from './schema.js';
import type { ResourceService } from './service.js';
import type { ResourceVariableService } from './variables.js';

const tags = ['resources'];
// Reads that deploy tokens may make (within their scope); every change needs a user.
const readable = { deployTokens: true };
const IdResult = Type.Object({ id: Type.String() });
const CountResult = Type.Object({ count: Type.Integer() });

/** The resource configuration endpoints of seed 001 (deployments, health and logs come with their modules). */
export const resourceRoutes: FastifyPluginAsyncTypebox<{
  resources: ResourceService;
  variables: ResourceVariableService;
}> = async (app, { resources, variables }) => {
  app.get(
    '/resources/count',
    {
      config: readable,
      schema: { tags, summary: 'Count resources', querystring: CountQuery, response: { 200: CountResult } },
    },
    async (request) => resources.count(request.em, callerOf(request), request.query),
  );

  app.get(
    '/resources',
    {
      config: readable,
      schema: { tags, summary: 'List resources', querystring: ListQuery, response: { 200: ResourceList } },
    },
    async (request) => resources.list(request.em, callerOf(request), request.query),
  );

  app.post(
    '/resources',
    {
      schema: {
        tags,
        summary: 'Create a resource in an environment (profiles may be given at once)',
        body: CreateBody,
        response: { 201: IdResult },
      },
    },
    async (request, reply) => reply.code(201).send(await resources.create(request.em, userOf(request), request.body)),
  );

  app.get(
    '/resources/:resourceId',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Show a resource with every profile',
        params: ResourceParams,
        querystring: ShowQuery,
        response: { 200: ResourceShow },
      },
    },
    async (request) => resources.show(request.em, callerOf(request), request.params.resourceId, request.query),
  );

  app.delete(
    '/resources/:resourceId',
    {
      schema: {
        tags,
        summary: 'Delete a resource with its variables and secrets (confirmation.resourceSlug must repeat its slug)',
        params: ResourceParams,
        body: DeleteBody,
        response: { 200: IdResult },
      },
    },
    async (request) =>
      resources.remove(request.em, userOf(request), request.params.resourceId, request.body.confirmation.resourceSlug),
  );

  app.post(
    '/resources/:resourceId/archive',
    {
      schema: {
        tags,
        summary: 'Archive a resource',
        params: ResourceParams,
        body: ReasonBody,
        response: { 200: IdResult },
      },
    },
    async (request) => resources.archive(request.em, userOf(request), request.params.resourceId, request.body?.reason),
  );

  // Each profile is replaced whole by its own POST; the service checks the rules a schema cannot express.
  const profile = (summary: string, body: TSchema) => ({
    schema: { tags, summary, params: ResourceParams, body, response: { 200: IdResult } },
  });

  app.post(
    '/resources/:resourceId/source',
    profile('Set the source (a container image)', SourceBody),
    async (request) => {
      const body = request.body as Static<typeof SourceBody>;
      return resources.setSource(request.em, userOf(request), request.params.resourceId, body.source);
    },
  );
  app.post(
    '/resources/:resourceId/network-profile',
    profile('Set the internal port, protocol and exposure', NetworkProfileBody),
    async (request) => {
      const body = request.body as Static<typeof NetworkProfileBody>;
      return resources.setNetworkProfile(request.em, userOf(request), request.params.resourceId, body.networkProfile);
    },
  );
  app.post(
    '/resources/:resourceId/runtime-profile',
    profile('Set the command, arguments, limits and restart policy', RuntimeProfileBody),
    async (request) => {
      const body = request.body as Static<typeof RuntimeProfileBody>;
      return resources.setRuntimeProfile(request.em, userOf(request), request.params.resourceId, body.runtimeProfile);
    },
  );
  app.post(
    '/resources/:resourceId/access-profile',
    profile('Set how generated access routes include the resource', AccessProfileBody),
    async (request) => {
      const body = request.body as Static<typeof AccessProfileBody>;
      return resources.setAccessProfile(request.em, userOf(request), request.params.resourceId, body.accessProfile);
    },
  );
  app.post(
    '/resources/:resourceId/health-policy',
    profile('Set the health check that verifies a deployment', HealthPolicyBody),
    async (request) => {
      const body = request.body as Static<typeof HealthPolicyBody>;
      return resources.setHealthPolicy(request.em, userOf(request), request.params.resourceId, body.healthCheck);
    },
  );

  app.post(
    '/resources/:resourceId/health-policy/reset',
    {
      schema: {
        tags,
        summary: 'Reset the health policy to the default (nothing is redeployed)',
        params: ResourceParams,
        body: EmptyBody,
        response: { 200: IdResult },
      },
    },
    async (request) => resources.resetHealthPolicy(request.em, userOf(request), request.params.resourceId),
  );

  app.post(
    '/resources/:resourceId/variables',
    {
      schema: {
        tags,
        summary: 'Set a resource variable (kind "secret" stores it as a secret)',
        params: ResourceParams,
        body: SetVariableBody,
        response: { 200: JsonNull },
      },
    },
    async (request) => variables.setVariable(request.em, userOf(request), request.params.resourceId, request.body),
  );

  app.delete(
    '/resources/:resourceId/variables/:key',
    {
      schema: {
        tags,
        summary: 'Remove a resource variable',
        params: KeyParams,
        body: UnsetVariableBody,
        response: { 200: JsonNull },
      },
    },
    async (request) =>
      variables.unsetVariable(
        request.em,
        userOf(request),
        request.params.resourceId,
        request.params.key,
        request.body?.exposure,
      ),
  );

  app.post(
    '/resources/:resourceId/variables/import',
    {
      schema: {
        tags,
        summary: 'Import .env text (all or nothing; credential-like names become secrets)',
        params: ResourceParams,
        body: ImportBody,
        response: { 200: ImportResult },
      },
    },
    async (request) => variables.importVariables(request.em, userOf(request), request.params.resourceId, request.body),
  );

  app.get(
    '/resources/:resourceId/secrets',
    {
      config: readable,
      schema: {
        tags,
        summary: "List a resource's secrets (values are always ****)",
        params: ResourceParams,
        querystring: ExposureQuery,
        response: { 200: SecretList },
      },
    },
    async (request) =>
      variables.listSecrets(request.em, callerOf(request), request.params.resourceId, request.query.exposure),
  );

  app.post(
    '/resources/:resourceId/secrets',
    {
      schema: {
        tags,
        summary: 'Create a secret',
        params: ResourceParams,
        body: SecretBody,
        response: { 201: SecretResult },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await variables.createSecret(request.em, userOf(request), request.params.resourceId, request.body)),
  );

  app.get(
    '/resources/:resourceId/secrets/:key',
    {
      config: readable,
      schema: {
        tags,
        summary: 'Show a secret (the value is always ****)',
        params: KeyParams,
        querystring: ExposureQuery,
        response: { 200: SecretShow },
      },
    },
    async (request) =>
      variables.showSecret(
        request.em,
        callerOf(request),
        request.params.resourceId,
        request.params.key,
        request.query.exposure,
      ),
  );

  app.post(
    '/resources/:resourceId/secrets/:key',
    {
      schema: {
        tags,
        summary: "Replace an existing secret's value",
        params: KeyParams,
        body: RotateSecretBody,
        response: { 200: SecretResult },
      },
    },
    async (request) =>
      variables.rotateSecret(request.em, userOf(request), request.params.resourceId, request.params.key, request.body),
  );

  app.delete(
    '/resources/:resourceId/secrets/:key',
    {
      schema: {
        tags,
        summary: 'Delete a secret',
        params: KeyParams,
        body: DeleteSecretBody,
        response: { 200: SecretResult },
      },
    },
    async (request) =>
      variables.deleteSecret(
        request.em,
        userOf(request),
        request.params.resourceId,
        request.params.key,
        request.body?.exposure,
      ),
  );

  app.get(
    '/resources/:resourceId/effective-config',
    {
      config: readable,
      schema: {
        tags,
        summary: 'The configuration a deployment gets, masked, with each value’s origin',
        params: ResourceParams,
        response: { 200: EffectiveConfig },
      },
    },
    async (request) => variables.effectiveConfig(request.em, callerOf(request), request.params.resourceId),
  );
};
