import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../../../shared/errors.js';
import { userOf } from '../../http/request-context.js';
import {
  ConfigureRetentionBody,
  ConfigureThresholdsBody,
  IdResult,
  RetentionCategoryParams,
  RetentionList,
  RetentionListQuery,
  RetentionShow,
  RetentionShowQuery,
  Rollup,
  RollupQuery,
  SamplesList,
  SamplesQuery,
  ThresholdsConfigured,
  ThresholdsQuery,
  ThresholdsShow,
  Usage,
  UsageQuery,
} from './schema.js';
import type { ScopeInput } from './scope.js';
import type { MonitoringService } from './service.js';
import { signals as knownSignals, type Signal } from './totals.js';

/** Options of {@link monitoringRoutes}. */
export interface MonitoringRoutesOptions {
  monitoring: MonitoringService;
}

const tags = ['monitoring'];

type ScopeQuery = {
  [K in `scope.${'kind' | `${'server' | 'project' | 'environment' | 'resource' | 'deployment'}Id`}`]?: string;
};

function scopeOf(query: ScopeQuery): ScopeInput {
  return {
    kind: query['scope.kind'] as ScopeInput['kind'],
    serverId: query['scope.serverId'],
    projectId: query['scope.projectId'],
    environmentId: query['scope.environmentId'],
    resourceId: query['scope.resourceId'],
    deploymentId: query['scope.deploymentId'],
  };
}

/** `signals` repeated or comma-separated; every one must be known. All of them when none is sent. */
function signalsOf(raw: string[] | undefined): Signal[] {
  if (raw === undefined || raw.length === 0) return [...knownSignals];
  const names = raw
    .flatMap((entry) => entry.split(','))
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(knownSignals as readonly string[]).includes(name)) {
      throw new AppError('validation_failed', `"${name}" is not a monitoring signal.`, {
        field: 'signals',
        hint: `Signals: ${knownSignals.join(', ')}.`,
      });
    }
  }
  return [...new Set(names)] as Signal[];
}

/** Runtime monitoring samples and rollups, and retention defaults (seed 001 §2.6). People only. */
export const monitoringRoutes: FastifyPluginAsyncTypebox<MonitoringRoutesOptions> = async (app, { monitoring }) => {
  app.get(
    '/runtime-monitoring/samples',
    {
      schema: {
        tags,
        summary: 'List retained monitoring samples of one scope (newest `limit` of the window, oldest first)',
        querystring: SamplesQuery,
        response: { 200: SamplesList },
      },
    },
    async (request) => {
      const query = request.query;
      return monitoring.samples(request.em, userOf(request), {
        scope: scopeOf(query),
        window: { from: query['window.from'], to: query['window.to'] },
        signals: signalsOf(query.signals),
        limit: query.limit ?? 300,
      });
    },
  );
  app.get(
    '/runtime-monitoring/rollup',
    {
      schema: {
        tags,
        summary: 'Roll samples of one scope up into minute, five-minute or hour buckets, with deployment markers',
        querystring: RollupQuery,
        response: { 200: Rollup },
      },
    },
    async (request) => {
      const query = request.query;
      return monitoring.rollup(request.em, userOf(request), {
        scope: scopeOf(query),
        window: { from: query['window.from'], to: query['window.to'] },
        bucket: query.bucket,
        signals: signalsOf(query.signals),
        includeDeploymentMarkers: query.includeDeploymentMarkers ?? true,
        includeTopContributors: query.includeTopContributors ?? true,
      });
    },
  );
  app.get(
    '/retention-defaults',
    {
      schema: {
        tags,
        summary: 'List the retention of every history category (the built-in default where none is set)',
        querystring: RetentionListQuery,
        response: { 200: RetentionList },
      },
    },
    async (request) => monitoring.retention.list(request.em, userOf(request), request.query),
  );
  app.post(
    '/retention-defaults',
    {
      schema: {
        tags,
        summary: 'Set how many days one history category is kept',
        body: ConfigureRetentionBody,
        response: { 200: IdResult },
      },
    },
    async (request) => monitoring.retention.configure(request.em, userOf(request), request.body),
  );
  app.get(
    '/retention-defaults/:category',
    {
      schema: {
        tags,
        summary: 'Show the retention of one history category',
        params: RetentionCategoryParams,
        querystring: RetentionShowQuery,
        response: { 200: RetentionShow },
      },
    },
    async (request) => monitoring.retention.show(request.em, userOf(request), request.params.category, request.query),
  );
  app.get(
    '/runtime-monitoring/thresholds',
    {
      schema: {
        tags,
        summary: "A scope's threshold policy and how it stands now (ok, warning, critical, stale, unknown)",
        querystring: ThresholdsQuery,
        response: { 200: ThresholdsShow },
      },
    },
    async (request) =>
      monitoring.thresholds.show(request.em, userOf(request), {
        scope: scopeOf(request.query),
        policyId: request.query.policyId,
      }),
  );
  app.post(
    '/runtime-monitoring/thresholds',
    {
      schema: {
        tags,
        summary: 'Set the threshold rules of a scope (evaluated as samples arrive; warnings raise and clear)',
        body: ConfigureThresholdsBody,
        response: { 200: ThresholdsConfigured },
      },
    },
    async (request) => monitoring.thresholds.configure(request.em, userOf(request), request.body),
  );
  app.get(
    '/runtime-usage/inspect',
    {
      schema: {
        tags,
        summary: 'What a scope uses now, by project, environment, resource and deployment, from the newest samples',
        querystring: UsageQuery,
        response: { 200: Usage },
      },
    },
    async (request) => {
      const q = request.query;
      // The seed spells the scope both ways: scope.kind/scope.serverId and scopeKind/serverId.
      const scope = scopeOf({
        'scope.kind': q['scope.kind'] ?? q.scopeKind,
        'scope.serverId': q['scope.serverId'] ?? q.serverId,
        'scope.projectId': q['scope.projectId'] ?? q.projectId,
        'scope.environmentId': q['scope.environmentId'] ?? q.environmentId,
        'scope.resourceId': q['scope.resourceId'] ?? q.resourceId,
        'scope.deploymentId': q['scope.deploymentId'] ?? q.deploymentId,
      });
      return monitoring.usage(request.em, userOf(request), {
        scope,
        includeArtifacts: q.includeArtifacts ?? true,
        includeWarnings: q.includeWarnings ?? true,
      });
    },
  );
};
