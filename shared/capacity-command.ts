import { type Static, Type } from 'typebox';
import { nullable } from './deployment-command.js';

/**
 * The capacity commands (`capacity.inspect`, `capacity.prune`) as they cross the wire. The agent measures and
 * prunes; the control plane tells it what must survive (each resource's current and rollback deployments), since
 * only it knows the deployment history.
 */

/** The seed's prune categories. Berth has no workspaces or remote state markers yet: those match nothing. */
export const pruneCategories = [
  'stopped-containers',
  'preview-workspaces',
  'source-workspaces',
  'docker-build-cache',
  'unused-images',
  'remote-state-markers',
] as const;
export type PruneCategory = (typeof pruneCategories)[number];
/** What a prune covers when the request names no categories (the seed's default). */
export const defaultPruneCategories: readonly PruneCategory[] = [
  'stopped-containers',
  'preview-workspaces',
  'source-workspaces',
];

/** The seed's capacity warning codes. */
export const capacityWarningCodes = [
  'full-disk',
  'high-disk-usage',
  'high-inode-usage',
  'docker-unavailable',
  'timeout',
  'partial-diagnostic',
  'unsupported-provider',
  'audit-record-failed',
] as const;

const WarningSchema = Type.Object({
  code: Type.Enum(capacityWarningCodes),
  message: Type.String(),
  path: Type.Optional(Type.String()),
  mount: Type.Optional(Type.String()),
  resource: Type.Optional(Type.String()),
});
export type CapacityWarning = Static<typeof WarningSchema>;

const bytes = Type.Number({ minimum: 0 });

/** One Berth container as capacity reports it (the seed's `appaloftContainers[]`). */
const BerthContainerSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  running: Type.Boolean(),
  status: Type.String(),
  writableBytes: bytes,
  deploymentId: Type.String(),
  projectId: Type.String(),
  environmentId: Type.String(),
  resourceId: Type.String(),
  image: Type.String(),
});

/** What `capacity.inspect` answers: the server now. */
export const CapacityInspectResultSchema = Type.Object({
  inspectedAt: Type.String(),
  disk: Type.Array(
    Type.Object({
      path: Type.String(),
      mount: Type.String(),
      size: bytes,
      used: bytes,
      available: bytes,
      usePercent: Type.Number(),
    }),
  ),
  inodes: Type.Array(
    Type.Object({
      path: Type.String(),
      mount: Type.String(),
      used: Type.Number(),
      free: Type.Number(),
      usePercent: Type.Number(),
    }),
  ),
  /** Null when the engine did not answer (a `docker-unavailable` warning says why). */
  docker: nullable(
    Type.Object({
      imagesSize: bytes,
      reclaimableImagesSize: bytes,
      buildCacheSize: bytes,
      reclaimableBuildCacheSize: bytes,
      containersSize: bytes,
      volumesSize: bytes,
    }),
  ),
  memory: Type.Object({ total: bytes, available: bytes, used: bytes, usePercent: Type.Number() }),
  cpu: Type.Object({
    logicalCores: Type.Integer(),
    loadAverage1m: Type.Number(),
    loadAverage5m: Type.Number(),
    loadAverage15m: Type.Number(),
  }),
  stateRoot: Type.Object({ path: Type.String(), size: bytes, detectable: Type.Boolean() }),
  containers: Type.Array(BerthContainerSchema),
  estimate: Type.Object({ stoppedContainersSize: bytes, unusedImagesSize: bytes }),
  warnings: Type.Array(WarningSchema),
  partial: Type.Boolean(),
});
export type CapacityInspectResult = Static<typeof CapacityInspectResultSchema>;

/** `capacity.prune`: what to look at, and what must survive whatever the rules say. */
export const CapacityPrunePayloadSchema = Type.Object({
  /** Only objects last used before this instant are candidates (ISO 8601). */
  before: Type.String({ minLength: 1 }),
  categories: Type.Array(Type.Enum(pruneCategories)),
  dryRun: Type.Boolean(),
  /** Deployments whose containers and images stay: every resource's current one and its rollback candidate. */
  protectedDeploymentIds: Type.Array(Type.String()),
  /** Image references of those deployments: never removed, even when no container uses them now. */
  protectedImages: Type.Array(Type.String()),
});
export type CapacityPrunePayload = Static<typeof CapacityPrunePayloadSchema>;

/** `capacity.inspect`: the server now, and what a prune would reclaim while keeping the protected deployments. */
export const CapacityInspectPayloadSchema = Type.Object({
  protectedDeploymentIds: Type.Array(Type.String()),
  protectedImages: Type.Array(Type.String()),
});
export type CapacityInspectPayload = Static<typeof CapacityInspectPayloadSchema>;

/** The seed's candidate actions and the reasons a Berth object is kept. */
export const pruneActions = ['matched', 'pruned', 'skipped'] as const;
export const pruneSkipReasons = ['active-runtime', 'rollback-candidate', 'in-use', 'remove-failed'] as const;

const CandidateSchema = Type.Object({
  id: Type.String(),
  category: Type.Enum(pruneCategories),
  /** What it is, in words a person recognises: a container name, an image reference. */
  target: Type.String(),
  updatedAt: Type.String(),
  size: bytes,
  action: Type.Enum(pruneActions),
  skippedReason: Type.Optional(Type.Enum(pruneSkipReasons)),
});
export type PruneCandidate = Static<typeof CandidateSchema>;

/** What `capacity.prune` answers. Objects not Berth's are never named: only counted in `excludedCount`. */
export const CapacityPruneResultSchema = Type.Object({
  prunedAt: Type.String(),
  inspectedCount: Type.Integer({ minimum: 0 }),
  excludedCount: Type.Integer({ minimum: 0 }),
  reclaimedBytes: bytes,
  candidates: Type.Array(CandidateSchema),
  warnings: Type.Array(WarningSchema),
});
export type CapacityPruneResult = Static<typeof CapacityPruneResultSchema>;
