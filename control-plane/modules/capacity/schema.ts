import { Type } from 'typebox';
import {
  capacityWarningCodes,
  pruneActions,
  pruneCategories,
  pruneSkipReasons,
} from '../../../shared/capacity-command.js';
import { prunePolicyScopes } from './entity.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Bytes = Type.Number();
const Flag = Type.Boolean({ description: 'true/false (also 1/0)' });

export const ServerParams = Type.Object({ serverId: Id });
export const PolicyParams = Type.Object({ policyId: Id });

const ServerRef = Type.Object({
  id: Type.String(),
  name: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  providerKey: Type.String(),
  targetKind: Type.String(),
});
const Warning = Type.Object({
  code: Type.Enum(capacityWarningCodes),
  message: Type.String(),
  path: Type.Optional(Type.String()),
  mount: Type.Optional(Type.String()),
  resource: Type.Optional(Type.String()),
});
const Folder = Type.Object({ path: Type.String(), size: Bytes, detectable: Type.Boolean() });

export const CapacityInspection = Type.Object({
  schemaVersion: Type.Literal('servers.capacity.inspect/v1'),
  server: ServerRef,
  inspectedAt: Type.String(),
  disk: Type.Array(
    Type.Object({
      path: Type.String({ description: 'Where it is mounted.' }),
      mount: Type.String({ description: 'The file system (device).' }),
      size: Bytes,
      used: Bytes,
      available: Bytes,
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
  docker: Type.Union(
    [
      Type.Object({
        imagesSize: Bytes,
        reclaimableImagesSize: Bytes,
        buildCacheSize: Bytes,
        reclaimableBuildCacheSize: Bytes,
        containersSize: Bytes,
        volumesSize: Bytes,
      }),
      Type.Null(),
    ],
    { description: "Docker's disk use; null (with a docker-unavailable warning) when the engine did not answer." },
  ),
  memory: Type.Object({ total: Bytes, available: Bytes, used: Bytes, usePercent: Type.Number() }),
  cpu: Type.Object({
    logicalCores: Type.Integer(),
    loadAverage1m: Type.Number(),
    loadAverage5m: Type.Number(),
    loadAverage15m: Type.Number(),
  }),
  appaloftRuntime: Type.Object(
    { runtimeRoot: Folder, stateRoot: Folder, sourceWorkspace: Folder },
    { description: "The agent's state folder (Berth keeps no source workspaces yet)." },
  ),
  appaloftContainers: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      running: Type.Boolean(),
      status: Type.String(),
      writableBytes: Bytes,
      deploymentId: Type.String(),
      projectId: Type.String(),
      environmentId: Type.String(),
      resourceId: Type.String(),
      serverId: Type.String(),
      destinationId: Type.String(),
      artifactKind: Type.String(),
      image: Type.String(),
    }),
    { description: 'Berth-labelled containers only.' },
  ),
  appaloftWorkspaces: Type.Array(
    Type.Object({
      deploymentId: Type.String(),
      path: Type.String(),
      bytes: Bytes,
      activeMarker: Type.Boolean(),
      rollbackCandidateMarker: Type.Boolean(),
    }),
  ),
  safeReclaimableEstimate: Type.Object({
    stoppedContainersSize: Bytes,
    danglingImagesSize: Bytes,
    oldBuildCacheSize: Bytes,
    oldPreviewWorkspaceCandidatesSize: Bytes,
    total: Bytes,
  }),
  warnings: Type.Array(Warning),
  partial: Type.Boolean(),
});

const Category = Type.Enum(pruneCategories);
export const PruneBody = Type.Object(
  {
    before: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Only objects last used before this instant (default: now). Not in the future.',
      }),
    ),
    categories: Type.Optional(
      Type.Array(Category, {
        minItems: 1,
        uniqueItems: true,
        description: 'Default: stopped-containers, preview-workspaces, source-workspaces.',
      }),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'Default true: only lists. false removes what it lists.' })),
  },
  { additionalProperties: false },
);
export const PruneResult = Type.Object({
  schemaVersion: Type.Literal('servers.capacity.prune/v1'),
  server: ServerRef,
  before: Type.String(),
  categories: Type.Array(Category),
  dryRun: Type.Boolean(),
  prunedAt: Type.String(),
  summary: Type.Object({
    inspectedCount: Type.Integer(),
    matchedCount: Type.Integer(),
    prunedCount: Type.Integer(),
    skippedCount: Type.Integer(),
    excludedCount: Type.Integer({ description: "Objects that are not Berth's: never named, never removed." }),
    reclaimedBytes: Bytes,
    reportedCandidateCount: Type.Integer(),
    omittedCandidateCount: Type.Integer(),
    outputLimit: Type.Integer(),
  }),
  candidates: Type.Array(
    Type.Object({
      id: Type.String(),
      category: Category,
      target: Type.String(),
      updatedAt: Type.String(),
      size: Bytes,
      action: Type.Enum(pruneActions),
      skippedReason: Type.Union([Type.Enum(pruneSkipReasons), Type.Null()], {
        description: 'Why a Berth object was kept; null when it was not.',
      }),
    }),
  ),
  warnings: Type.Array(Warning),
});

const Scope = Type.Enum(prunePolicyScopes);
const Policy = Type.Object({
  schemaVersion: Type.Literal('scheduled-runtime-prune-policies.policy/v1'),
  id: Type.String(),
  version: Type.String(),
  scope: Scope,
  serverId: Type.Union([Type.String(), Type.Null()], { description: 'null: every server of the organization.' }),
  retentionDays: Type.Integer(),
  destructive: Type.Boolean(),
  categories: Type.Array(Category),
  categoryCount: Type.Integer(),
  retryOnFailure: Type.Boolean(),
  enabled: Type.Boolean(),
  updatedAt: Type.String(),
  lastRuns: Type.Array(
    Type.Object({
      serverId: Type.String(),
      trigger: Type.Enum(['schedule', 'disk-threshold']),
      at: Type.String(),
      dryRun: Type.Boolean(),
      ok: Type.Boolean(),
      matchedCount: Type.Integer(),
      prunedCount: Type.Integer(),
      reclaimedBytes: Bytes,
      error: Type.Union([Type.String(), Type.Null()]),
    }),
    { description: 'What the scheduled and disk-triggered runs did, newest first (at most 20).' },
  ),
});
export const PolicyList = Type.Object({
  schemaVersion: Type.Literal('scheduled-runtime-prune-policies.list/v1'),
  items: Type.Array(Policy),
});
export const PolicyShow = Type.Object({
  schemaVersion: Type.Literal('scheduled-runtime-prune-policies.show/v1'),
  policy: Policy,
});
export const PolicyListQuery = Type.Object({
  serverId: Type.Optional(Id),
  scope: Type.Optional(Scope),
  enabledOnly: Type.Optional(Flag),
});
export const ConfigurePolicyBody = Type.Object(
  {
    scope: Scope,
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650, description: 'Prune what was unused this many days.' }),
    serverId: Type.Optional(Id),
    destructive: Type.Optional(Type.Boolean({ description: 'Default false: the scheduled runs only list.' })),
    categories: Type.Optional(Type.Array(Category, { minItems: 1, uniqueItems: true })),
    retryOnFailure: Type.Optional(Type.Boolean()),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const IdResult = Type.Object({ id: Type.String() });
