import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { retryOnConflict } from '../../db/retry-on-conflict.js';
import { flushUniqueName, lifecycleDeleteCheck, requireConfirmation } from '../../guards.js';
import { deploymentStatuses } from '../deployments/entity.js';
import type { Caller } from '../identity/auth-context.js';
import { Server, type ServerWorkloadRole, serverWorkloadRoles } from './entity.js';
import { toServerView } from './view.js';

/** What `POST /servers` accepts. */
export interface CreateServerInput {
  name: string;
  host: string;
  port?: number | null;
  providerKey: string;
  targetKind?: string;
  proxyKind?: string;
  workloadRoles?: ServerWorkloadRole[];
}

const duplicateName = (name: string) =>
  new AppError('conflict', `A server named "${name}" already exists in this organization.`, {
    field: 'name',
    hint: 'Server names are unique per organization, ignoring case.',
  });

/** Servers: registration, lifecycle (deactivate → delete) and reads. */
export function createServerService({ now }: { now: Clock }) {
  async function load(em: EntityManager, auth: Caller, serverId: string): Promise<Server> {
    if (
      auth.kind === 'deploy-token' &&
      auth.scope.deploymentTargetIds.length > 0 &&
      !auth.scope.deploymentTargetIds.includes(serverId)
    ) {
      throw new AppError('forbidden_scope', `This deploy token's scope does not include server "${serverId}".`, {
        field: 'serverId',
      });
    }
    const server = await em.findOne(Server, { id: serverId, organization: auth.organizationId });
    if (server === null) throw notFound('Server', serverId, 'serverId');
    return server;
  }

  async function deleteCheck(em: EntityManager, auth: Caller, serverId: string) {
    const server = await load(em, auth, serverId);
    return lifecycleDeleteCheck('servers.delete-check/v1', 'server', server, now());
  }

  return {
    load,
    deleteCheck,

    async count(em: EntityManager, auth: Caller) {
      return { count: await em.count(Server, { organization: auth.organizationId }) };
    },

    async list(em: EntityManager, auth: Caller, limit = 100) {
      const servers = await em.find(
        Server,
        { organization: auth.organizationId },
        { orderBy: { createdAt: 'asc', id: 'asc' }, limit, populate: ['sshCredential'] },
      );
      return { items: servers.map(toServerView) };
    },

    async show(em: EntityManager, auth: Caller, serverId: string, includeRollups = true) {
      const server = await load(em, auth, serverId);
      await em.populate(server, ['sshCredential']);
      // Resources, deployments and domains arrive with later modules; until then a server has none.
      const rollups = {
        resources: { total: 0, deployedResourceIds: [] },
        deployments: {
          total: 0,
          statusCounts: deploymentStatuses.map((status) => ({ status, count: 0 })),
          latestDeploymentId: null,
          latestDeploymentStatus: null,
        },
        domains: { total: 0, statusCounts: [], latestDomainBindingId: null, latestDomainBindingStatus: null },
      };
      return {
        schemaVersion: 'servers.show/v1' as const,
        server: toServerView(server),
        ...(includeRollups ? { rollups } : {}),
        generatedAt: now().toISOString(),
      };
    },

    async create(em: EntityManager, auth: Caller, input: CreateServerInput) {
      const at = now();
      const name = input.name.trim();
      const server = em.create(Server, {
        id: newId('server'),
        organization: auth.organizationId,
        name,
        nameKey: name.toLowerCase(),
        host: input.host,
        port: input.port ?? null,
        providerKey: input.providerKey,
        targetKind: input.targetKind ?? 'single-server',
        proxyKind: input.proxyKind ?? 'caddy',
        // The schema refuses unknown and repeated roles; the set is stored in canonical order.
        workloadRoles: serverWorkloadRoles.filter((role) => input.workloadRoles?.includes(role)),
        lifecycleStatus: 'active',
        connectionState: 'never-connected',
        createdAt: at,
        updatedAt: at,
      });
      await flushUniqueName(em, () => duplicateName(name));
      return { id: server.id, workloadRoles: server.workloadRoles };
    },

    // Server rows are optimistically locked and agents' results write them too: API writes retry on a fresh read.
    rename(em: EntityManager, auth: Caller, serverId: string, newName: string) {
      return retryOnConflict(em, async () => {
        const server = await load(em, auth, serverId);
        const name = newName.trim();
        server.name = name;
        server.nameKey = name.toLowerCase();
        server.updatedAt = now();
        await flushUniqueName(em, () => duplicateName(name));
        return { id: server.id };
      });
    },

    /** Deactivates the server: its agent's certificate is revoked and a live session ends within seconds. */
    deactivate(em: EntityManager, auth: Caller, serverId: string, reason: string | undefined) {
      return retryOnConflict(em, async () => {
        const server = await load(em, auth, serverId);
        if (server.lifecycleStatus === 'active') {
          const at = now();
          server.lifecycleStatus = 'inactive';
          server.deactivatedAt = at;
          server.deactivationReason = reason?.trim() || null;
          server.credentialsRevokedAt = at;
          server.updatedAt = at;
          await em.flush();
        }
        return { id: server.id };
      });
    },

    async remove(em: EntityManager, auth: Caller, serverId: string, confirmedId: string) {
      requireConfirmation('serverId', serverId, confirmedId, 'server being deleted');
      const check = await deleteCheck(em, auth, serverId);
      if (!check.eligible) {
        throw new AppError('conflict', `Server "${serverId}" cannot be deleted yet.`, {
          hint: `Deactivate it first with POST /servers/${serverId}/deactivate; GET /servers/${serverId}/delete-check lists what blocks deletion.`,
          details: { blockers: check.blockers.map((b) => b.kind) },
        });
      }
      await em.nativeDelete(Server, { id: serverId, organization: auth.organizationId });
      return { id: serverId };
    },
  };
}

/** The server service's type. */
export type ServerService = ReturnType<typeof createServerService>;
