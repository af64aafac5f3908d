import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { flushUniqueName } from '../../guards.js';
import { ConfigEntry, type VariableExposure } from '../configuration/entity.js';
import { precedenceLadder, resolvePrecedence } from '../configuration/precedence.js';
import { type ConfigurationService, toEntryView, type VariableInput, variableEntry } from '../configuration/service.js';
import type { Caller } from '../identity/auth-context.js';
import { inScope, requireInScope } from '../identity/token-scope.js';
import { Project } from '../projects/entity.js';
import { Environment, type EnvironmentKind } from './entity.js';

/** Dependencies of {@link createEnvironmentService}. */
export interface EnvironmentServiceOptions {
  now: Clock;
  configuration: ConfigurationService;
}

const duplicateName = (name: string) =>
  new AppError('conflict', `An environment named "${name}" already exists in this project.`, {
    field: 'name',
    hint: 'Environment names are unique per project, ignoring case; choose another name.',
  });

/**
 * Refuses a change to an environment that is not active, or whose project is archived, with the way out in the
 * hint. Resources and deployments call it too: a locked environment blocks all of their configuration changes.
 */
export function requireChangeable(environment: Environment, project: Project, action: string): void {
  if (project.lifecycleStatus === 'archived') {
    throw new AppError('conflict', `Project "${project.id}" is archived: ${action} is not allowed.`, {
      hint: `Restore the project first with POST /projects/${project.id}/restore.`,
    });
  }
  if (environment.lifecycleStatus === 'locked') {
    throw new AppError('conflict', `Environment "${environment.name}" is locked: ${action} is not allowed.`, {
      hint: `Unlock it with POST /environments/${environment.id}/unlock${environment.lockReason ? ` (locked because: ${environment.lockReason})` : ''}, then retry.`,
      details: { environmentId: environment.id, lifecycleStatus: 'locked' },
    });
  }
  if (environment.lifecycleStatus === 'archived') {
    throw new AppError('conflict', `Environment "${environment.name}" is archived: it is read-only.`, {
      hint: 'Archived environments keep their history readable and accept no changes; create a new environment instead.',
      details: { environmentId: environment.id, lifecycleStatus: 'archived' },
    });
  }
}

/** Environment lifecycle and variables (docs/configuration.md). */
export function createEnvironmentService({ now, configuration }: EnvironmentServiceOptions) {
  function toView(environment: Environment, entries: ConfigEntry[]) {
    return {
      id: environment.id,
      projectId: environment.project.id,
      name: environment.name,
      kind: environment.kind,
      parentEnvironmentId: environment.parentEnvironmentId ?? null,
      lifecycleStatus: environment.lifecycleStatus,
      lockedAt: environment.lockedAt?.toISOString() ?? null,
      lockReason: environment.lockReason ?? null,
      archivedAt: environment.archivedAt?.toISOString() ?? null,
      archiveReason: environment.archiveReason ?? null,
      createdAt: environment.createdAt.toISOString(),
      maskedVariables: entries.map(toEntryView),
    };
  }

  /** The environment with its project, or NOT_FOUND; a deploy token sees only what its scope includes. */
  async function load(
    em: EntityManager,
    auth: Caller,
    environmentId: string,
    options: { lock?: boolean } = {},
  ): Promise<{ environment: Environment; project: Project }> {
    const environment = await em.findOne(
      Environment,
      { id: environmentId, organization: auth.organizationId },
      options.lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {},
    );
    if (environment === null) throw notFound('Environment', environmentId, 'environmentId');
    requireInScope(auth, { projectId: environment.project.id, environmentId }, `environment "${environmentId}"`);
    const project = await em.findOneOrFail(Project, environment.project.id);
    return { environment, project };
  }

  /** Runs `change` on the environment under a row lock, so concurrent changes apply one after another. */
  async function change<T>(
    em: EntityManager,
    auth: Caller,
    environmentId: string,
    change: (tx: EntityManager, environment: Environment, project: Project) => Promise<T>,
  ): Promise<T> {
    return em.transactional(async (tx) => {
      const { environment, project } = await load(tx, auth, environmentId, { lock: true });
      return change(tx, environment, project);
    });
  }

  function filterOf(auth: Caller, projectId: string | undefined) {
    return { organization: auth.organizationId, ...(projectId ? { project: projectId } : {}) };
  }

  return {
    load,

    async count(em: EntityManager, auth: Caller, projectId: string | undefined) {
      const environments = await em.find(Environment, filterOf(auth, projectId), { fields: ['id', 'project'] });
      return {
        count: environments.filter((e) => inScope(auth, { projectId: e.project.id, environmentId: e.id })).length,
      };
    },

    async list(em: EntityManager, auth: Caller, query: { projectId?: string; limit?: number }) {
      const environments = (
        await em.find(Environment, filterOf(auth, query.projectId), { orderBy: { createdAt: 'asc', id: 'asc' } })
      )
        .filter((e) => inScope(auth, { projectId: e.project.id, environmentId: e.id }))
        .slice(0, query.limit ?? 100);
      const entries = await em.find(
        ConfigEntry,
        { ownerId: { $in: environments.map((e) => e.id) } },
        { orderBy: { key: 'asc', exposure: 'asc' } },
      );
      return {
        items: environments.map((e) =>
          toView(
            e,
            entries.filter((x) => x.ownerId === e.id),
          ),
        ),
      };
    },

    async show(em: EntityManager, auth: Caller, environmentId: string) {
      const { environment } = await load(em, auth, environmentId);
      return toView(environment, await configuration.owned(em, environmentId));
    },

    async create(em: EntityManager, auth: Caller, input: { projectId: string; name: string; kind?: EnvironmentKind }) {
      const project = await em.findOne(Project, { id: input.projectId, organization: auth.organizationId });
      if (project === null) throw notFound('Project', input.projectId, 'projectId');
      requireInScope(auth, { projectId: project.id }, `project "${project.id}"`);
      if (project.lifecycleStatus === 'archived') {
        throw new AppError('conflict', `Project "${project.id}" is archived: no environment can be added to it.`, {
          field: 'projectId',
          hint: `Restore the project first with POST /projects/${project.id}/restore.`,
        });
      }
      const name = input.name.trim();
      const at = now();
      const environment = em.create(Environment, {
        id: newId('environment'),
        organization: auth.organizationId,
        project: project.id,
        name,
        nameKey: name.toLowerCase(),
        kind: input.kind ?? 'custom',
        parentEnvironmentId: null,
        lifecycleStatus: 'active',
        lockedAt: null,
        lockReason: null,
        archivedAt: null,
        archiveReason: null,
        createdAt: at,
        updatedAt: at,
      });
      await flushUniqueName(em, () => duplicateName(name));
      return { id: environment.id };
    },

    async rename(em: EntityManager, auth: Caller, environmentId: string, newName: string) {
      return change(em, auth, environmentId, async (tx, environment, project) => {
        requireChangeable(environment, project, 'renaming');
        const name = newName.trim();
        environment.name = name;
        environment.nameKey = name.toLowerCase();
        environment.updatedAt = now();
        await flushUniqueName(tx, () => duplicateName(name));
        return { id: environment.id };
      });
    },

    /** Locks an active environment (locking a locked one changes nothing). */
    async lock(em: EntityManager, auth: Caller, environmentId: string, reason: string | undefined) {
      return change(em, auth, environmentId, async (tx, environment) => {
        if (environment.lifecycleStatus === 'archived') {
          throw new AppError('conflict', `Environment "${environment.name}" is archived: it cannot be locked.`, {
            hint: 'Archived environments are already read-only.',
          });
        }
        if (environment.lifecycleStatus === 'active') {
          environment.lifecycleStatus = 'locked';
          environment.lockedAt = now();
          environment.lockReason = reason?.trim() || null;
          environment.updatedAt = now();
          await tx.flush();
        }
        return { id: environment.id };
      });
    },

    /** Unlocks a locked environment (unlocking an active one changes nothing). */
    async unlock(em: EntityManager, auth: Caller, environmentId: string) {
      return change(em, auth, environmentId, async (tx, environment) => {
        if (environment.lifecycleStatus === 'archived') {
          throw new AppError('conflict', `Environment "${environment.name}" is archived: it cannot be unlocked.`, {
            hint: 'Archiving is final; create a new environment instead.',
          });
        }
        if (environment.lifecycleStatus === 'locked') {
          environment.lifecycleStatus = 'active';
          environment.lockedAt = null;
          environment.lockReason = null;
          environment.updatedAt = now();
          await tx.flush();
        }
        return { id: environment.id };
      });
    },

    /** Archives the environment: it stays readable and accepts nothing else. Archiving again changes nothing. */
    async archive(em: EntityManager, auth: Caller, environmentId: string, reason: string | undefined) {
      return change(em, auth, environmentId, async (tx, environment) => {
        if (environment.lifecycleStatus !== 'archived') {
          environment.lifecycleStatus = 'archived';
          environment.archivedAt = now();
          environment.archiveReason = reason?.trim() || null;
          environment.updatedAt = now();
          await tx.flush();
        }
        return { id: environment.id };
      });
    },

    async setVariable(em: EntityManager, auth: Caller, environmentId: string, input: VariableInput) {
      await change(em, auth, environmentId, async (tx, environment, project) => {
        requireChangeable(environment, project, 'changing variables');
        await configuration.set(
          tx,
          { organizationId: auth.organizationId, environmentId, resourceId: null },
          variableEntry(input),
          { replaceOtherKind: true },
        );
      });
      return null;
    },

    async unsetVariable(
      em: EntityManager,
      auth: Caller,
      environmentId: string,
      key: string,
      exposure?: VariableExposure,
    ) {
      await change(em, auth, environmentId, async (tx, environment, project) => {
        requireChangeable(environment, project, 'changing variables');
        const removed = await configuration.unset(tx, environmentId, key, exposure ?? 'runtime');
        const alsoBuild = exposure === undefined ? await configuration.unset(tx, environmentId, key, 'build-time') : 0;
        if (removed + alsoBuild === 0) {
          throw new AppError(
            'not_found',
            `Environment "${environment.name}" has no variable "${key}"${exposure ? ` with exposure ${exposure}` : ''}.`,
            {
              field: 'key',
              hint: `GET /environments/${environmentId} lists its variables.`,
            },
          );
        }
      });
      return null;
    },

    async effectivePrecedence(em: EntityManager, auth: Caller, environmentId: string) {
      const { environment } = await load(em, auth, environmentId);
      const owned = await configuration.owned(em, environmentId);
      return {
        schemaVersion: 'environments.effective-precedence/v1' as const,
        environmentId,
        projectId: environment.project.id,
        ownedEntries: owned.map(toEntryView),
        effectiveEntries: resolvePrecedence(owned).effective.map(toEntryView),
        precedence: [...precedenceLadder],
        generatedAt: now().toISOString(),
      };
    },
  };
}

/** The environment service's type. */
export type EnvironmentService = ReturnType<typeof createEnvironmentService>;
