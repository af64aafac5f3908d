import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Type } from 'typebox';
import { AppError } from '../../../shared/errors.js';
import { berthVersion } from '../../../shared/version.js';

const Health = Type.Object({ status: Type.Literal('ok') });
const Ready = Type.Object({
  status: Type.Literal('ready'),
  checks: Type.Object({ database: Type.Literal('ok') }),
});
const Version = Type.Object({
  name: Type.Literal('berth'),
  version: Type.String(),
  apiVersion: Type.Literal('v1'),
  mode: Type.Literal('self-hosted'),
});

/** Liveness, readiness and version: public, for load balancers, orchestrators and clients probing compatibility. */
export const systemRoutes: FastifyPluginAsyncTypebox<{ orm: MikroORM }> = async (app, { orm }) => {
  const config = { public: true };
  const tags = ['system'];

  app.get(
    '/healthz',
    { config, schema: { tags, summary: 'The process is alive', response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config,
      schema: { tags, summary: 'The control plane can serve requests (database reachable)', response: { 200: Ready } },
    },
    async () => {
      try {
        await orm.em.getConnection().execute('select 1');
      } catch (error) {
        throw new AppError('service_unavailable', 'The database is not reachable.', {
          hint: 'Check BERTH_DATABASE_URL or the embedded database in the data folder.',
          cause: error,
        });
      }
      return { status: 'ready' as const, checks: { database: 'ok' as const } };
    },
  );

  app.get(
    '/version',
    { config, schema: { tags, summary: "Berth's version and API version", response: { 200: Version } } },
    async () => ({
      name: 'berth' as const,
      version: berthVersion,
      apiVersion: 'v1' as const,
      mode: 'self-hosted' as const,
    }),
  );
};
