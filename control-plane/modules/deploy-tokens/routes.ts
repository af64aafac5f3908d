import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { userOf } from '../../http/request-context.js';
import {
  ConfirmBody,
  CreateBody,
  Created,
  DeployTokenList,
  DeployTokenView,
  ListQuery,
  Revoked,
  Rotated,
  ShowQuery,
  TokenParams,
} from './schema.js';
import type { DeployTokenService } from './service.js';

const tags = ['deploy-tokens'];

/** The five deploy-token endpoints of seed 001; only people (not deploy tokens) manage tokens. */
export const deployTokenRoutes: FastifyPluginAsyncTypebox<{ deployTokens: DeployTokenService }> = async (
  app,
  { deployTokens },
) => {
  app.get(
    '/deploy-tokens',
    {
      schema: {
        tags,
        summary: "List an organization's deploy tokens",
        querystring: ListQuery,
        response: { 200: DeployTokenList },
      },
    },
    async (request) => deployTokens.list(request.em, userOf(request), request.query),
  );

  app.post(
    '/deploy-tokens',
    {
      schema: {
        tags,
        summary: 'Create a scoped deploy token (secret shown once)',
        body: CreateBody,
        response: { 201: Created },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await deployTokens.create(request.em, userOf(request), request.body)),
  );

  app.get(
    '/deploy-tokens/:tokenId',
    {
      schema: {
        tags,
        summary: 'Show a deploy token',
        params: TokenParams,
        querystring: ShowQuery,
        response: { 200: DeployTokenView },
      },
    },
    async (request) =>
      deployTokens.show(request.em, userOf(request), request.query.organizationId, request.params.tokenId),
  );

  app.post(
    '/deploy-tokens/:tokenId/rotate',
    {
      schema: {
        tags,
        summary: "Replace a deploy token's secret (shown once)",
        params: TokenParams,
        body: ConfirmBody,
        response: { 200: Rotated },
      },
    },
    async (request) => deployTokens.rotate(request.em, userOf(request), request.params.tokenId, request.body),
  );

  app.post(
    '/deploy-tokens/:tokenId/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a deploy token for good',
        params: TokenParams,
        body: ConfirmBody,
        response: { 200: Revoked },
      },
    },
    async (request) => deployTokens.revoke(request.em, userOf(request), request.params.tokenId, request.body),
  );
};
