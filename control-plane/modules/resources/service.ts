import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Static } from 'typebox';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import { slugify, uniqueSlug } from '../../../shared/slug.js';
import type { Clock } from '../../../shared/time.js';
import { flushUniqueName, requireConfirmation } from '../../guards.js';
import { Environment } from '../environments/entity.js';
import { requireChangeable } from '../environments/service.js';
import type { Caller } from '../identity/auth-context.js';
import { inScope, requireInScope } from '../identity/token-scope.js';
import { Project } from '../projects/entity.js';
import { Resource } from './entity.js';
import {
  normalizeAccessProfile,
  normalizeHealthPolicy,
  normalizeNetworkProfile,
  normalizeRuntimeProfile,
  normalizeSource,
} from './normalize-profiles.js';
import { defaultAccessProfile, defaultRuntimeProfile, type HealthCheckInput, type SourceProfile } from './profiles.js';
import type { CreateBody } from './schema.js';
import { coreView, healthPolicyView, profileDiagnostics } from './views.js';

/** Dependencies of {@link createResourceService}. */
export interface ResourceServiceOptions {
  now: Clock;
  /** The access summary of a resource (the edge module's), for `includeAccessSummary`. */
  accessSummary?: (em: EntityManager, resourceId: string) => Promise<Record<string, unknown>>;
}

/** A resource with the environment and project it lives in. */
export interface LoadedResource {
  resource: Resource;
  environment: Environment;
  project: Project;
}

const duplicateName = (name: string) =>
  new AppError('conflict', `A resource named "${name}" already exists in this environment.`, {
    field: 'name',
    hint: 'Resource names are unique per environment, ignoring case; choose another name.',
  });

/** Refuses changes to an archived resource (archiving is final, as in the seed: there is no restore). */
function requireActive(resource: Resource, action: string): void {
  if (resource.lifecycleStatus === 'archived') {
    throw new AppError('conflict', `Resource "${resource.name}" is archived: ${action} is not allowed.`, {
      hint: 'Archived resources stay readable; create a new resource to deploy again.',
    });
  }
}

/** Resource lifecycle and profiles (docs/resources.md). */
export function createResourceService({ now, accessSummary: summaryOf }: ResourceServiceOptions) {
  /** The resource with its environment and project, or NOT_FOUND; deploy tokens see only their scope. */
  async function load(
    em: EntityManager,
    auth: Caller,
    resourceId: string,
    options: { lock?: boolean } = {},
  ): Promise<LoadedResource> {
    const resource = await em.findOne(
      Resource,
      { id: resourceId, organization: auth.organizationId },
      options.lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {},
    );
    if (resource === null) throw notFound('Resource', resourceId, 'resourceId');
    requireInScope(
      auth,
      { projectId: resource.project.id, environmentId: resource.environment.id, resourceId },
      `resource "${resourceId}"`,
    );
    const environment = await em.findOneOrFail(Environment, resource.environment.id);
    const project = await em.findOneOrFail(Project, resource.project.id);
    return { resource, environment, project };
  }

  /**
   * Runs a change under a row lock on the resource: concurrent changes to one resource are applied one after the
   * other (none is lost), and the environment's and resource's state are checked inside the same transaction.
   */
  async function change<T>(
    em: EntityManager,
    auth: Caller,
    resourceId: string,
    action: string,
    apply: (tx: EntityManager, loaded: LoadedResource) => Promise<T>,
  ): Promise<T> {
    return em.transactional(async (tx) => {
      const loaded = await load(tx, auth, resourceId, { lock: true });
      requireChangeable(loaded.environment, loaded.project, action);
      requireActive(loaded.resource, action);
      return apply(tx, loaded);
    });
  }

  async function updateProfile(
    em: EntityManager,
    auth: Caller,
    resourceId: string,
    action: string,
    update: (resource: Resource) => void,
  ) {
    return change(em, auth, resourceId, action, async (tx, { resource }) => {
      update(resource);
      resource.updatedAt = now();
      await tx.flush();
      return { id: resource.id };
    });
  }

  function filterOf(auth: Caller, query: { projectId?: string | undefined; environmentId?: string | undefined }) {
    return {
      organization: auth.organizationId,
      ...(query.projectId ? { project: query.projectId } : {}),
      ...(query.environmentId ? { environment: query.environmentId } : {}),
    };
  }

  const visible = (auth: Caller) => (r: { id: string; project: { id: string }; environment: { id: string } }) =>
    inScope(auth, { projectId: r.project.id, environmentId: r.environment.id, resourceId: r.id });

  return {
    load,
    change,

    async count(em: EntityManager, auth: Caller, query: { projectId?: string; environmentId?: string }) {
      const found = await em.find(Resource, filterOf(auth, query), { fields: ['id', 'project', 'environment'] });
      return { count: found.filter(visible(auth)).length };
    },

    async list(em: EntityManager, auth: Caller, query: { projectId?: string; environmentId?: string; limit?: number }) {
      const found = await em.find(Resource, filterOf(auth, query), { orderBy: { createdAt: 'asc', id: 'asc' } });
      return {
        items: found
          .filter(visible(auth))
          .slice(0, query.limit ?? 100)
          .map((resource) => ({
            ...coreView(resource),
            lifecycleStatus: resource.lifecycleStatus,
            networkProfile: resource.networkProfile ?? null,
            accessProfile: resource.accessProfile ?? defaultAccessProfile,
            latestRuntimeControl: null,
            accessSummary: null,
          })),
      };
    },

    async show(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      include: { includeProfileDiagnostics?: boolean; includeAccessSummary?: boolean },
    ) {
      const { resource } = await load(em, auth, resourceId);
      const accessSummary = include.includeAccessSummary && summaryOf ? await summaryOf(em, resource.id) : null;
      const runtime = resource.runtimeProfile ?? defaultRuntimeProfile;
      const source = (resource.source ?? null) as SourceProfile | null;
      return {
        schemaVersion: 'resources.show/v1' as const,
        resource: coreView(resource),
        source:
          source === null
            ? null
            : {
                ...source,
                sourceBindingFingerprint: null,
                gitRef: null,
                commitSha: null,
                baseDirectory: null,
                originalLocator: source.locator,
                repositoryId: null,
                repositoryFullName: null,
                defaultBranch: null,
              },
        autoDeployPolicy: null,
        runtimeProfile: {
          ...runtime,
          installCommand: null,
          buildCommand: null,
          runtimeName: null,
          publishDirectory: null,
          dockerfilePath: null,
          dockerComposeFilePath: null,
          buildTarget: null,
          healthCheck: healthPolicyView(resource),
        },
        networkProfile: resource.networkProfile ?? null,
        accessProfile: resource.accessProfile ?? defaultAccessProfile,
        healthPolicy: healthPolicyView(resource),
        storageAttachments: [],
        accessSummary,
        latestDeployment: null,
        lifecycle: {
          status: resource.lifecycleStatus,
          archivedAt: resource.archivedAt?.toISOString() ?? null,
          archiveReason: resource.archiveReason ?? null,
          deletedAt: null,
        },
        diagnostics: include.includeProfileDiagnostics ? profileDiagnostics(resource) : [],
        generatedAt: now().toISOString(),
      };
    },

    async create(em: EntityManager, auth: Caller, input: Static<typeof CreateBody>) {
      // Everything is checked before anything is written: a bad profile leaves no half-made resource.
      const profiles = {
        source: input.source ? normalizeSource(input.source) : null,
        networkProfile: input.networkProfile ? normalizeNetworkProfile(input.networkProfile) : null,
        runtimeProfile: input.runtimeProfile ? normalizeRuntimeProfile(input.runtimeProfile) : null,
        healthPolicy: input.healthCheck
          ? normalizeHealthPolicy(input.healthCheck)
          : input.runtimeProfile?.healthCheck
            ? normalizeHealthPolicy(input.runtimeProfile.healthCheck, 'runtimeProfile.healthCheck')
            : null,
        accessProfile: input.accessProfile ? normalizeAccessProfile(input.accessProfile) : null,
      };
      return em.transactional(async (tx) => {
        // Locking the environment serialises creations in it, so two new resources never compute the same slug.
        const environment = await tx.findOne(
          Environment,
          { id: input.environmentId, organization: auth.organizationId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (environment === null) throw notFound('Environment', input.environmentId, 'environmentId');
        if (environment.project.id !== input.projectId) {
          const project = await tx.findOne(Project, { id: input.projectId, organization: auth.organizationId });
          if (project === null) throw notFound('Project', input.projectId, 'projectId');
          throw new AppError('validation_failed', `Environment "${environment.id}" belongs to another project.`, {
            field: 'environmentId',
            hint: `Use an environment of project "${input.projectId}" (GET /environments?projectId=${input.projectId}).`,
          });
        }
        requireInScope(
          auth,
          { projectId: input.projectId, environmentId: environment.id },
          `environment "${environment.id}"`,
        );
        const project = await tx.findOneOrFail(Project, input.projectId);
        requireChangeable(environment, project, 'adding a resource');
        const name = input.name.trim();
        const base = slugify(name, 'resource');
        const taken = await tx.find(
          Resource,
          { environment: environment.id, slug: { $like: `${base}%` } },
          { fields: ['slug'] },
        );
        const at = now();
        const resource = tx.create(Resource, {
          id: newId('resource'),
          organization: auth.organizationId,
          project: project.id,
          environment: environment.id,
          name,
          nameKey: name.toLowerCase(),
          slug: uniqueSlug(base, new Set(taken.map((r) => r.slug))),
          kind: input.kind ?? 'application',
          description: input.description?.trim() || null,
          services: input.services?.length ? input.services : [{ name: 'web', kind: 'web' }],
          ...profiles,
          lifecycleStatus: 'active',
          archivedAt: null,
          archiveReason: null,
          createdAt: at,
          updatedAt: at,
        });
        await flushUniqueName(tx, () => duplicateName(name));
        return { id: resource.id };
      });
    },

    /** Archives the resource (final; archiving again changes nothing). A locked environment refuses it. */
    async archive(em: EntityManager, auth: Caller, resourceId: string, reason: string | undefined) {
      return em.transactional(async (tx) => {
        const { resource, environment, project } = await load(tx, auth, resourceId, { lock: true });
        if (resource.lifecycleStatus !== 'archived') {
          requireChangeable(environment, project, 'archiving a resource');
          resource.lifecycleStatus = 'archived';
          resource.archivedAt = now();
          resource.archiveReason = reason?.trim() || null;
          resource.updatedAt = now();
          await tx.flush();
        }
        return { id: resource.id };
      });
    },

    /** Deletes the resource (its variables and secrets with it) once `confirmation.resourceSlug` repeats its slug. */
    async remove(em: EntityManager, auth: Caller, resourceId: string, confirmedSlug: string) {
      return em.transactional(async (tx) => {
        const { resource, environment, project } = await load(tx, auth, resourceId, { lock: true });
        requireConfirmation('resourceSlug', resource.slug, confirmedSlug, 'resource being deleted');
        requireChangeable(environment, project, 'deleting a resource');
        await tx.nativeDelete(Resource, { id: resource.id });
        return { id: resourceId };
      });
    },

    async setSource(em: EntityManager, auth: Caller, resourceId: string, input: Parameters<typeof normalizeSource>[0]) {
      const source = normalizeSource(input);
      return updateProfile(em, auth, resourceId, 'changing the source', (r) => {
        r.source = source;
      });
    },

    async setNetworkProfile(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      input: Parameters<typeof normalizeNetworkProfile>[0],
    ) {
      const profile = normalizeNetworkProfile(input);
      return updateProfile(em, auth, resourceId, 'changing the network profile', (r) => {
        r.networkProfile = profile;
      });
    },

    async setRuntimeProfile(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      input: Parameters<typeof normalizeRuntimeProfile>[0],
    ) {
      const profile = normalizeRuntimeProfile(input);
      const health = input.healthCheck
        ? normalizeHealthPolicy(input.healthCheck, 'runtimeProfile.healthCheck')
        : undefined;
      return updateProfile(em, auth, resourceId, 'changing the runtime profile', (r) => {
        r.runtimeProfile = profile;
        if (health !== undefined) r.healthPolicy = health;
      });
    },

    async setAccessProfile(
      em: EntityManager,
      auth: Caller,
      resourceId: string,
      input: Parameters<typeof normalizeAccessProfile>[0],
    ) {
      const profile = normalizeAccessProfile(input);
      return updateProfile(em, auth, resourceId, 'changing the access profile', (r) => {
        r.accessProfile = profile;
      });
    },

    async setHealthPolicy(em: EntityManager, auth: Caller, resourceId: string, input: Static<typeof HealthCheckInput>) {
      const policy = normalizeHealthPolicy(input);
      return updateProfile(em, auth, resourceId, 'changing the health policy', (r) => {
        r.healthPolicy = policy;
      });
    },

    /** Back to the default policy (docs/resources.md); nothing is deployed or restarted. */
    async resetHealthPolicy(em: EntityManager, auth: Caller, resourceId: string) {
      return updateProfile(em, auth, resourceId, 'changing the health policy', (r) => {
        r.healthPolicy = null;
      });
    },
  };
}

/** The resource service's type. */
export type ResourceService = ReturnType<typeof createResourceService>;
