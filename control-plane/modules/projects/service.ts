import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import { slugify, uniqueSlug } from '../../../shared/slug.js';
import type { Clock } from '../../../shared/time.js';
import { flushUniqueName, lifecycleDeleteCheck, requireConfirmation } from '../../guards.js';
import type { Caller } from '../identity/auth-context.js';
import { Project } from './entity.js';

/** Dependencies of {@link createProjectService}. */
export interface ProjectServiceOptions {
  now: Clock;
}

/** The seed's project read model. */
export function toProjectView(project: Project) {
  return {
    id: project.id,
    organizationId: project.organization.id,
    name: project.name,
    slug: project.slug,
    description: project.description ?? null,
    lifecycleStatus: project.lifecycleStatus,
    archivedAt: project.archivedAt?.toISOString() ?? null,
    archiveReason: project.archiveReason ?? null,
    createdAt: project.createdAt.toISOString(),
  };
}

// A deploy token restricted to some projects sees only those.
function visibleTo(auth: Caller) {
  const restricted = auth.kind === 'deploy-token' && auth.scope.projectIds.length > 0;
  return { organization: auth.organizationId, ...(restricted ? { id: { $in: auth.scope.projectIds } } : {}) };
}

const duplicateName = (name: string) =>
  new AppError('conflict', `A project named "${name}" already exists in this organization.`, {
    field: 'name',
    hint: 'Project names are unique per organization, ignoring case; choose another name.',
  });

/** Project lifecycle: create, read, rename, describe, archive, restore, delete (rules in docs/projects.md). */
export function createProjectService({ now }: ProjectServiceOptions) {
  async function load(em: EntityManager, auth: Caller, projectId: string): Promise<Project> {
    if (
      auth.kind === 'deploy-token' &&
      auth.scope.projectIds.length > 0 &&
      !auth.scope.projectIds.includes(projectId)
    ) {
      throw new AppError('forbidden_scope', `This deploy token's scope does not include project "${projectId}".`, {
        field: 'projectId',
        hint: 'Use a token whose scope.projectIds includes the project, or one with no project restriction.',
      });
    }
    const project = await em.findOne(Project, { id: projectId, organization: auth.organizationId });
    if (project === null) throw notFound('Project', projectId, 'projectId');
    return project;
  }

  function refuseIfArchived(project: Project, action: string): void {
    if (project.lifecycleStatus === 'archived') {
      throw new AppError('conflict', `Project "${project.id}" is archived: it cannot be ${action}.`, {
        hint: `Restore it first with POST /projects/${project.id}/restore.`,
      });
    }
  }

  async function deleteCheck(em: EntityManager, auth: Caller, projectId: string) {
    const project = await load(em, auth, projectId);
    return lifecycleDeleteCheck('projects.delete-check/v1', 'project', project, now());
  }

  return {
    async count(em: EntityManager, auth: Caller) {
      return { count: await em.count(Project, visibleTo(auth)) };
    },

    async list(em: EntityManager, auth: Caller, query: { limit?: number; lifecycleStatus?: 'active' | 'archived' }) {
      const projects = await em.find(
        Project,
        { ...visibleTo(auth), ...(query.lifecycleStatus ? { lifecycleStatus: query.lifecycleStatus } : {}) },
        { orderBy: { createdAt: 'asc', id: 'asc' }, limit: query.limit ?? 100 },
      );
      return { items: projects.map(toProjectView) };
    },

    async show(em: EntityManager, auth: Caller, projectId: string) {
      return toProjectView(await load(em, auth, projectId));
    },

    async create(
      em: EntityManager,
      auth: Caller,
      input: { name: string; description?: string | null; organizationId?: string },
    ) {
      // Projects are created in the session's organization; naming it is allowed, naming another is not.
      if (input.organizationId !== undefined && input.organizationId !== auth.organizationId) {
        throw new AppError('not_found', `Organization "${input.organizationId}" was not found.`, {
          field: 'organizationId',
          hint: 'Leave organizationId out, or use currentOrganization.organizationId of GET /organizations/current-context.',
        });
      }
      const name = input.name.trim();
      const at = now();
      const base = slugify(name, 'project');
      const taken = await em.find(
        Project,
        { organization: auth.organizationId, slug: { $like: `${base}%` } },
        { fields: ['slug'] },
      );
      const project = em.create(Project, {
        id: newId('project'),
        organization: auth.organizationId,
        name,
        nameKey: name.toLowerCase(),
        slug: uniqueSlug(base, new Set(taken.map((p) => p.slug))),
        description: input.description?.trim() || null,
        lifecycleStatus: 'active',
        archivedAt: null,
        archiveReason: null,
        createdAt: at,
        updatedAt: at,
      });
      await flushUniqueName(em, () => duplicateName(name));
      return { id: project.id };
    },

    async rename(em: EntityManager, auth: Caller, projectId: string, newName: string) {
      const project = await load(em, auth, projectId);
      refuseIfArchived(project, 'renamed');
      const name = newName.trim();
      project.name = name;
      project.nameKey = name.toLowerCase();
      project.updatedAt = now();
      await flushUniqueName(em, () => duplicateName(name));
      return { id: project.id };
    },

    async describe(em: EntityManager, auth: Caller, projectId: string, description: string | null | undefined) {
      const project = await load(em, auth, projectId);
      refuseIfArchived(project, 'changed');
      project.description = description?.trim() || null;
      project.updatedAt = now();
      await em.flush();
      return { id: project.id };
    },

    /** Archives the project; archiving an archived project changes nothing and answers the same. */
    async archive(em: EntityManager, auth: Caller, projectId: string, reason: string | undefined) {
      const project = await load(em, auth, projectId);
      if (project.lifecycleStatus !== 'archived') {
        project.lifecycleStatus = 'archived';
        project.archivedAt = now();
        project.archiveReason = reason?.trim() || null;
        project.updatedAt = now();
        await em.flush();
      }
      return { id: project.id };
    },

    /** Restores an archived project; restoring an active project changes nothing. */
    async restore(em: EntityManager, auth: Caller, projectId: string) {
      const project = await load(em, auth, projectId);
      if (project.lifecycleStatus === 'archived') {
        project.lifecycleStatus = 'active';
        project.archivedAt = null;
        project.archiveReason = null;
        project.updatedAt = now();
        await em.flush();
      }
      return { id: project.id };
    },

    deleteCheck,

    /** Deletes the project once the confirmation repeats its id and the delete-check has no blockers. */
    async remove(em: EntityManager, auth: Caller, projectId: string, confirmedId: string) {
      requireConfirmation('projectId', projectId, confirmedId, 'project being deleted');
      const check = await deleteCheck(em, auth, projectId);
      if (!check.eligible) {
        throw new AppError('conflict', `Project "${projectId}" cannot be deleted yet.`, {
          hint: check.blockers.some((b) => b.kind === 'active-project')
            ? `Archive it first with POST /projects/${projectId}/archive; GET /projects/${projectId}/delete-check lists what blocks deletion.`
            : `GET /projects/${projectId}/delete-check lists what blocks deletion.`,
          details: { blockers: check.blockers.map((b) => b.kind) },
        });
      }
      await em.nativeDelete(Project, { id: projectId, organization: auth.organizationId });
      return { id: projectId };
    },
  };
}

/** The project service's type. */
export type ProjectService = ReturnType<typeof createProjectService>;
