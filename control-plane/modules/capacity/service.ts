import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type CapacityInspectResult,
  type CapacityPruneResult,
  defaultPruneCategories,
  type PruneCategory,
} from '../../../shared/capacity-command.js';
import { type CommandKind, type CommandResultOf, commandKind } from '../../../shared/command-catalogue.js';
import { AppError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { CommandService } from '../agent-commands/service.js';
import type { Caller } from '../identity/auth-context.js';
import type { Server } from '../servers/entity.js';
import type { ServerService } from '../servers/service.js';
import { protectedOn } from './protect.js';

/** Dependencies of {@link createCapacityService}. */
export interface CapacityServiceOptions {
  now: Clock;
  log: Logger;
  commands: Pick<CommandService, 'enqueue' | 'waitForOutcome'>;
  servers: Pick<ServerService, 'load'>;
  /** How long the agent has to measure (`capacity.inspect`). */
  inspectTimeoutMs?: number;
  /** How long a prune may take on the agent (removing images can take a while). */
  pruneTimeoutMs?: number;
}

/** `POST /servers/{id}/capacity/prune`. */
export interface PruneInput {
  before?: string | undefined;
  categories?: PruneCategory[] | undefined;
  dryRun?: boolean | undefined;
}

/** A prune answer names at most this many candidates; the summary counts them all. */
const outputLimit = 200;

const serverView = (server: Server) => ({
  id: server.id,
  name: server.name,
  host: server.host,
  port: server.port ?? 22,
  providerKey: server.providerKey,
  targetKind: server.targetKind,
});

/**
 * A server's capacity, measured live by its agent (`capacity.inspect`), and safe prunes (`capacity.prune`): a dry
 * run unless `dryRun: false`, only ever of Berth's own objects, keeping each resource's current and rollback
 * deployments, which only the control plane knows and therefore sends with the command.
 */
export function createCapacityService(options: CapacityServiceOptions) {
  const { now, log, commands, servers } = options;
  const inspectTimeoutMs = options.inspectTimeoutMs ?? 20_000;
  const pruneTimeoutMs = options.pruneTimeoutMs ?? 120_000;

  async function ask<K extends CommandKind>(
    em: EntityManager,
    server: Server,
    kind: K,
    payload: Parameters<CommandService['enqueue']>[3] & object,
    timeoutMs: number,
  ): Promise<CommandResultOf<K>> {
    if (server.lifecycleStatus !== 'active') {
      throw new AppError('conflict', `Server "${server.id}" is deactivated.`, { field: 'serverId' });
    }
    if (server.connectionState !== 'connected') {
      throw new AppError('service_unavailable', `The agent of server "${server.id}" is ${server.connectionState}.`, {
        hint: `Capacity is measured live by the agent; GET /servers/${server.id}/connectivity says why it is not connected.`,
      });
    }
    const issued = await commands.enqueue(em, server.id, kind, payload as never, timeoutMs);
    const outcome = await commands.waitForOutcome(em.fork(), issued);
    if (outcome.state !== 'succeeded') {
      throw new AppError(
        'service_unavailable',
        `The agent did not answer ${kind}: ${outcome.errorMessage ?? outcome.state}.`,
        { hint: 'Try again; the agent log on the server has the details.', details: { reason: outcome.errorCode } },
      );
    }
    return outcome.result as CommandResultOf<K>;
  }

  /** Runs one prune on `server` (also for the scheduled policies). */
  async function pruneServer(em: EntityManager, server: Server, input: Required<PruneInput>) {
    const keep = await protectedOn(em, server.id);
    const result: CapacityPruneResult = await ask(
      em,
      server,
      commandKind.capacityPrune,
      { before: input.before, categories: input.categories, dryRun: input.dryRun, ...keep },
      pruneTimeoutMs,
    );
    const selected = result.candidates.filter(
      (c) => c.action !== 'skipped' || c.skippedReason === 'remove-failed',
    ).length;
    const summary = {
      inspectedCount: result.inspectedCount,
      matchedCount: selected,
      prunedCount: result.candidates.filter((c) => c.action === 'pruned').length,
      skippedCount: result.candidates.filter((c) => c.action === 'skipped').length,
      excludedCount: result.excludedCount,
      reclaimedBytes: result.reclaimedBytes,
      reportedCandidateCount: Math.min(outputLimit, result.candidates.length),
      omittedCandidateCount: Math.max(0, result.candidates.length - outputLimit),
      outputLimit,
    };
    if (!input.dryRun) log.info({ serverId: server.id, ...summary }, 'capacity prune ran');
    return {
      schemaVersion: 'servers.capacity.prune/v1' as const,
      server: serverView(server),
      before: input.before,
      categories: input.categories,
      dryRun: input.dryRun,
      prunedAt: result.prunedAt,
      summary,
      // Always present, null for a candidate that was not kept (the seed's shape).
      candidates: result.candidates
        .slice(0, outputLimit)
        .map((c) => ({ ...c, skippedReason: c.skippedReason ?? null })),
      warnings: result.warnings,
    };
  }

  return {
    pruneServer,

    async inspect(em: EntityManager, auth: Caller, serverId: string) {
      const server = await servers.load(em, auth, serverId);
      const keep = await protectedOn(em, server.id);
      const r: CapacityInspectResult = await ask(em, server, commandKind.capacityInspect, keep, inspectTimeoutMs);
      const estimate = r.estimate;
      return {
        schemaVersion: 'servers.capacity.inspect/v1' as const,
        server: serverView(server),
        inspectedAt: r.inspectedAt,
        disk: r.disk,
        inodes: r.inodes,
        docker: r.docker,
        memory: r.memory,
        cpu: r.cpu,
        // The seed's names for the platform's own state (Berth's agent state folder; no source workspaces yet).
        appaloftRuntime: {
          runtimeRoot: r.stateRoot,
          stateRoot: r.stateRoot,
          sourceWorkspace: { path: '', size: 0, detectable: false },
        },
        appaloftContainers: r.containers.map((c) => ({
          id: c.id,
          name: c.name,
          running: c.running,
          status: c.status,
          writableBytes: c.writableBytes,
          deploymentId: c.deploymentId,
          projectId: c.projectId,
          environmentId: c.environmentId,
          resourceId: c.resourceId,
          serverId: server.id,
          destinationId: server.id,
          artifactKind: 'docker-image',
          image: c.image,
        })),
        appaloftWorkspaces: [],
        safeReclaimableEstimate: {
          stoppedContainersSize: estimate.stoppedContainersSize,
          danglingImagesSize: estimate.unusedImagesSize,
          oldBuildCacheSize: 0,
          oldPreviewWorkspaceCandidatesSize: 0,
          total: estimate.stoppedContainersSize + estimate.unusedImagesSize,
        },
        warnings: r.warnings,
        partial: r.partial,
      };
    },

    async prune(em: EntityManager, auth: Caller, serverId: string, input: PruneInput) {
      const server = await servers.load(em, auth, serverId);
      const at = now();
      const before = input.before ?? at.toISOString();
      // A minute of slack for clocks; anything later would select what is still being used.
      if (new Date(before).getTime() > at.getTime() + 60_000) {
        throw new AppError('validation_failed', 'before is in the future.', {
          field: 'before',
          hint: 'Send an instant in the past (ISO 8601 UTC), or leave it out to mean now.',
        });
      }
      return pruneServer(em, server, {
        before: new Date(before).toISOString(),
        categories: input.categories ?? [...defaultPruneCategories],
        dryRun: input.dryRun ?? true,
      });
    },
  };
}
export type CapacityService = ReturnType<typeof createCapacityService>;
