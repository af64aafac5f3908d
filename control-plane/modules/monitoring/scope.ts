import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { Deployment } from '../deployments/entity.js';
import { Environment } from '../environments/entity.js';
import { Project } from '../projects/entity.js';
import { Resource } from '../resources/entity.js';
import { Server } from '../servers/entity.js';

/** What a monitoring read can be about. */
export const scopeKinds = ['server', 'project', 'environment', 'resource', 'deployment'] as const;
export type ScopeKind = (typeof scopeKinds)[number];

/** A scope as clients send it (`scope.kind`, `scope.serverId`, ... in the query). */
export interface ScopeInput {
  kind?: ScopeKind | undefined;
  serverId?: string | undefined;
  projectId?: string | undefined;
  environmentId?: string | undefined;
  resourceId?: string | undefined;
  deploymentId?: string | undefined;
}

/** The scope echoed in answers: its kind and the one id that names it. */
export type ScopeView = { kind: ScopeKind } & Partial<Record<`${ScopeKind}Id`, string>>;

/** A scope checked against the caller's organization, with the SQL that selects its samples. */
export interface ResolvedScope {
  view: ScopeView;
  /** `host` samples for a server, `container` samples otherwise. */
  sampleKind: 'host' | 'container';
  /** A condition on `monitoring_samples` (with `?` bindings) selecting the scope's rows. */
  where: string;
  bindings: string[];
  /** The ids every level of the scope sits in, for deployment markers. */
  ids: { serverId?: string; projectId?: string; environmentId?: string; resourceId?: string; deploymentId?: string };
}

const idField = (kind: ScopeKind) => `${kind}Id` as const;

/** The kind a scope is of: the one given, else the most specific id sent. */
function kindOf(input: ScopeInput): ScopeKind {
  if (input.kind !== undefined) return input.kind;
  for (const kind of ['deployment', 'resource', 'environment', 'project', 'server'] as const) {
    if (input[idField(kind)] !== undefined) return kind;
  }
  throw new AppError('validation_failed', 'A monitoring read needs a scope.', {
    field: 'scope.kind',
    hint: 'Send scope.kind=server&scope.serverId=… (or project, environment, resource, deployment with its id).',
  });
}

/**
 * Checks a scope: its kind needs its id, and the id must name an object of the caller's organization (another
 * organization's is reported as not found). Returns the SQL that selects its samples: a server's own samples,
 * or the container samples attributed to the project, environment, resource or deployment.
 */
export async function resolveScope(
  em: EntityManager,
  organizationId: string,
  input: ScopeInput,
): Promise<ResolvedScope> {
  const kind = kindOf(input);
  const field = idField(kind);
  const id = input[field];
  if (id === undefined) {
    throw new AppError('validation_failed', `A ${kind} scope needs scope.${field}.`, {
      field: `scope.${field}`,
      hint: `Send scope.kind=${kind}&scope.${field}=…`,
    });
  }
  const organization = organizationId;
  const missing = (what: string) => notFound(what, id, `scope.${field}`);
  switch (kind) {
    case 'server': {
      const server = await em.findOne(Server, { id, organization }, { fields: ['id'] });
      if (server === null) throw missing('Server');
      return {
        view: { kind, serverId: id },
        sampleKind: 'host',
        where: `"kind" = 'host' and "server_id" = ?`,
        bindings: [id],
        ids: { serverId: id },
      };
    }
    case 'project': {
      const project = await em.findOne(Project, { id, organization }, { fields: ['id'] });
      if (project === null) throw missing('Project');
      const environments = await em.find(Environment, { project: id }, { fields: ['id'] });
      // Through the environments, which are indexed: a project's samples are its environments' samples.
      const envIds = environments.map((e) => e.id);
      return {
        view: { kind, projectId: id },
        sampleKind: 'container',
        where:
          envIds.length === 0
            ? 'false'
            : `"kind" = 'container' and "environment_id" in (${envIds.map(() => '?').join(', ')})`,
        bindings: envIds,
        ids: { projectId: id },
      };
    }
    case 'environment': {
      const environment = await em.findOne(Environment, { id, organization }, { fields: ['id', 'project'] });
      if (environment === null) throw missing('Environment');
      return {
        view: { kind, environmentId: id },
        sampleKind: 'container',
        where: `"kind" = 'container' and "environment_id" = ?`,
        bindings: [id],
        ids: { environmentId: id, projectId: environment.project.id },
      };
    }
    case 'resource': {
      const resource = await em.findOne(Resource, { id, organization }, { fields: ['id', 'project', 'environment'] });
      if (resource === null) throw missing('Resource');
      return {
        view: { kind, resourceId: id },
        sampleKind: 'container',
        where: `"kind" = 'container' and "resource_id" = ?`,
        bindings: [id],
        ids: { resourceId: id, environmentId: resource.environment.id, projectId: resource.project.id },
      };
    }
    case 'deployment': {
      const deployment = await em.findOne(
        Deployment,
        { id, organization },
        { fields: ['id', 'resource', 'environment', 'project', 'server'] },
      );
      if (deployment === null) throw missing('Deployment');
      return {
        view: { kind, deploymentId: id },
        sampleKind: 'container',
        where: `"kind" = 'container' and "resource_id" = ? and "deployment_id" = ?`,
        bindings: [deployment.resource.id, id],
        ids: {
          deploymentId: id,
          resourceId: deployment.resource.id,
          environmentId: deployment.environment.id,
          projectId: deployment.project.id,
          serverId: deployment.server.id,
        },
      };
    }
  }
}
