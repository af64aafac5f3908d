import { Type } from 'typebox';
import { buckets } from './reads.js';
import { retentionCategoryNames, retentionScopes } from './retention.js';
import { scopeKinds } from './scope.js';
import { signals as signalNames } from './totals.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Num = Type.Union([Type.Number(), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
const Timestamp = Type.String({ format: 'date-time', examples: ['2026-12-07T10:00:00Z'] });
const Flag = Type.Boolean({ description: 'true/false (also 1/0)' });

/** `scope.kind`, `scope.<kind>Id`, `window.from`, `window.to`: the seed's deep-object query. */
const scopeAndWindow = {
  'scope.kind': Type.Optional(
    Type.Enum(scopeKinds, { description: 'Defaults to the kind of the most specific scope id sent.' }),
  ),
  'scope.serverId': Type.Optional(Id),
  'scope.projectId': Type.Optional(Id),
  'scope.environmentId': Type.Optional(Id),
  'scope.resourceId': Type.Optional(Id),
  'scope.deploymentId': Type.Optional(Id),
  'window.from': Type.Optional({ ...Timestamp, description: 'Defaults to a span before window.to.' }),
  'window.to': Type.Optional({ ...Timestamp, description: 'Defaults to now.' }),
  signals: Type.Optional(
    Type.Array(Type.String({ maxLength: 100 }), {
      maxItems: 12,
      description: 'cpu, memory, disk, inode, docker, network (repeated or comma-separated); all by default.',
    }),
  ),
};

export const SamplesQuery = Type.Object({
  ...scopeAndWindow,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 720, default: 300 })),
});

export const RollupQuery = Type.Object({
  ...scopeAndWindow,
  bucket: Type.Enum(Object.keys(buckets) as Array<keyof typeof buckets>),
  includeDeploymentMarkers: Type.Optional(Flag),
  includeTopContributors: Type.Optional(Flag),
});

const ScopeView = Type.Object({
  kind: Type.Enum(scopeKinds),
  serverId: Type.Optional(Type.String()),
  projectId: Type.Optional(Type.String()),
  environmentId: Type.Optional(Type.String()),
  resourceId: Type.Optional(Type.String()),
  deploymentId: Type.Optional(Type.String()),
});

const Totals = Type.Object(
  {
    cpu: Type.Optional(
      Type.Object({
        logicalCores: Num,
        loadAverage1m: Num,
        loadAverage5m: Num,
        loadAverage15m: Num,
        containerCpuPercent: Num,
        usagePercent: Num,
      }),
    ),
    memory: Type.Optional(
      Type.Object({ totalBytes: Num, usedBytes: Num, availableBytes: Num, containerUsedBytes: Num }),
    ),
    disk: Type.Optional(Type.Object({ totalBytes: Num, usedBytes: Num, availableBytes: Num, attributedBytes: Num })),
    inode: Type.Optional(Type.Object({ total: Num, used: Num, available: Num })),
    docker: Type.Optional(Type.Object({ imageBytes: Num, buildCacheBytes: Num, containerWritableBytes: Num })),
    network: Type.Optional(Type.Object({ rxBytes: Num, txBytes: Num })),
  },
  { description: 'Only the signals asked for. A figure the scope does not measure is null.' },
);

const Warning = Type.Object({
  code: Type.String({ examples: ['missing-samples'] }),
  message: Type.String(),
  signal: Type.Optional(Type.String()),
  scope: ScopeView,
});
const SourceError = Type.Object({
  source: Type.String(),
  code: Type.String(),
  message: Type.String(),
  retriable: Type.Boolean(),
});
const Freshness = Type.Union([Type.Literal('live'), Type.Literal('stale')], {
  description: 'stale once the newest sample is older than three sample intervals (15 s by default).',
});
const Retention = Type.Object({
  rawRetentionHours: Type.Number(),
  retainedFrom: NullableString,
  retainedTo: NullableString,
});

const Sample = Type.Object({
  sampleId: Type.String(),
  observedAt: Type.String(),
  collectedAt: Type.String(),
  scopeEvidence: Type.Object({
    scope: ScopeView,
    serverId: Type.String(),
    projectId: NullableString,
    environmentId: NullableString,
    resourceId: NullableString,
    deploymentId: NullableString,
  }),
  totals: Totals,
  freshness: { ...Freshness, description: 'stale when the sample reached the control plane late (spooled offline).' },
  partial: Type.Boolean(),
  labels: Type.Object({ providerKey: Type.String(), artifactKind: Type.String(), runtimeId: NullableString }),
  warnings: Type.Array(Warning),
  sourceErrors: Type.Array(SourceError),
});

const common = {
  scope: ScopeView,
  from: Type.String(),
  to: Type.String(),
  generatedAt: Type.String(),
  freshness: Freshness,
  partial: Type.Boolean(),
  retention: Retention,
  warnings: Type.Array(Warning),
  sourceErrors: Type.Array(SourceError),
};

export const SamplesList = Type.Object({
  schemaVersion: Type.Literal('runtime-monitoring.samples.list/v1'),
  ...common,
  samples: Type.Array(Sample),
});

export const Rollup = Type.Object({
  schemaVersion: Type.Literal('runtime-monitoring.rollup/v1'),
  ...common,
  bucket: Type.String(),
  series: Type.Array(
    Type.Object({
      signal: Type.String(),
      points: Type.Array(
        Type.Object({ from: Type.String(), to: Type.String(), sampleCount: Type.Integer(), totals: Totals }),
      ),
    }),
  ),
  totals: Totals,
  topContributors: Type.Array(Type.Object({ scope: ScopeView, totals: Totals, sampleCount: Type.Integer() })),
  deploymentMarkers: Type.Array(
    Type.Object({
      deploymentId: Type.String(),
      resourceId: Type.String(),
      environmentId: Type.String(),
      observedAt: Type.String(),
      status: Type.String(),
      label: Type.String(),
      correlation: Type.Literal('time'),
    }),
  ),
});

const Category = Type.Enum(retentionCategoryNames);
const RetentionPolicy = Type.Object({
  schemaVersion: Type.Literal('retention-defaults.policy/v1'),
  id: Type.String({ description: '`default:<category>` for a category never configured (its built-in default).' }),
  scope: Type.Enum(retentionScopes),
  organizationId: Type.String({
    description: 'The organization it governs; a `system` record governs it unless it has one of its own.',
  }),
  category: Category,
  retentionDays: Type.Integer(),
  dryRunSchedulingEnabled: Type.Boolean(),
  destructiveSchedulingEnabled: Type.Boolean(),
  enabled: Type.Boolean(),
  updatedAt: NullableString,
  updatedByActorId: NullableString,
  updatedByActorKind: Type.String(),
});
export const RetentionList = Type.Object({
  schemaVersion: Type.Literal('retention-defaults.list/v1'),
  items: Type.Array(RetentionPolicy),
});
export const RetentionShow = Type.Object({
  schemaVersion: Type.Literal('retention-defaults.show/v1'),
  policy: RetentionPolicy,
});
export const RetentionListQuery = Type.Object({
  scope: Type.Optional(Type.Enum(retentionScopes)),
  organizationId: Type.Optional(Id),
  category: Type.Optional(Category),
  enabledOnly: Type.Optional(Flag),
});
export const RetentionShowQuery = Type.Object({
  scope: Type.Optional(Type.Enum(retentionScopes, { default: 'system' })),
  organizationId: Type.Optional(Id),
});
export const RetentionCategoryParams = Type.Object({ category: Category });
export const ConfigureRetentionBody = Type.Object(
  {
    category: Category,
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
    scope: Type.Optional(
      Type.Enum(retentionScopes, { description: 'Defaults to `system`, the scope a show reads by default.' }),
    ),
    organizationId: Type.Optional(Id),
    dryRunSchedulingEnabled: Type.Optional(Type.Boolean()),
    destructiveSchedulingEnabled: Type.Optional(
      Type.Boolean({ description: 'false: the retention job only counts what it would delete.' }),
    ),
    enabled: Type.Optional(Type.Boolean({ description: 'false: the built-in default applies.' })),
  },
  { additionalProperties: false },
);
export const IdResult = Type.Object({ id: Type.String() });

export const ThresholdsQuery = Type.Object({
  ...scopeAndWindow,
  policyId: Type.Optional(Id),
});
const Rule = Type.Object({
  ruleId: Type.String(),
  signal: Type.String({ description: `One of ${signalNames.join(', ')}.` }),
  metric: Type.String(),
  warning: Num,
  critical: Num,
  comparator: Type.String({ description: 'Always greater-than-or-equal.' }),
});
const ThresholdPolicyView = Type.Object({
  schemaVersion: Type.Literal('runtime-monitoring-thresholds.policy/v1'),
  policyId: NullableString,
  scope: ScopeView,
  rules: Type.Array(Rule),
  enabled: Type.Boolean(),
  updatedAt: NullableString,
  updatedByActorId: NullableString,
  updatedByActorKind: Type.String(),
});
export const ThresholdsShow = Type.Object({
  schemaVersion: Type.Literal('runtime-monitoring-thresholds.show/v1'),
  scope: ScopeView,
  generatedAt: Type.String(),
  policy: ThresholdPolicyView,
  evaluation: Type.Object({
    state: Type.Enum(['ok', 'warning', 'critical', 'stale', 'unknown']),
    evaluatedAt: Type.String(),
    sourceSampleId: NullableString,
    crossed: Type.Array(
      Type.Object({
        ruleId: Type.String(),
        signal: Type.String(),
        metric: Type.String(),
        severity: Type.Enum(['warning', 'critical']),
        observedValue: Type.Number(),
        boundary: Type.Number(),
      }),
    ),
    nextActions: Type.Array(Type.String()),
    since: Type.Union([Type.String(), Type.Null()], { description: 'When the current state began.' }),
    sourceErrors: Type.Array(
      Type.Object({ source: Type.String(), code: Type.String(), message: Type.String(), retriable: Type.Boolean() }),
    ),
  }),
});
export const ConfigureThresholdsBody = Type.Object(
  {
    scope: Type.Object(
      {
        kind: Type.Enum(scopeKinds),
        serverId: Type.Optional(Id),
        projectId: Type.Optional(Id),
        environmentId: Type.Optional(Id),
        resourceId: Type.Optional(Id),
        deploymentId: Type.Optional(Id),
      },
      { additionalProperties: false },
    ),
    rules: Type.Array(
      Type.Object(
        {
          ruleId: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
          signal: Type.String({ minLength: 1, maxLength: 20 }),
          metric: Type.String({ minLength: 1, maxLength: 40 }),
          warning: Type.Optional(Num),
          critical: Type.Optional(Num),
          comparator: Type.Optional(Type.String({ maxLength: 40 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 50 },
    ),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const ThresholdsConfigured = Type.Object({ policy: ThresholdPolicyView });

export const UsageQuery = Type.Object({
  ...scopeAndWindow,
  scopeKind: Type.Optional(Type.Enum(scopeKinds, { description: 'Same as scope.kind.' })),
  serverId: Type.Optional(Id),
  projectId: Type.Optional(Id),
  environmentId: Type.Optional(Id),
  resourceId: Type.Optional(Id),
  deploymentId: Type.Optional(Id),
  mode: Type.Optional(Type.Enum(['current'], { default: 'current' })),
  includeArtifacts: Type.Optional(Flag),
  includeWarnings: Type.Optional(Flag),
});
const UsageWarning = Type.Object({
  code: Type.String(),
  message: Type.String(),
  scope: ScopeView,
  resource: Type.String(),
});
const UsageEntry = Type.Object({
  scope: ScopeView,
  ownership: Type.String(),
  totals: Totals,
  currentDeploymentId: NullableString,
  currentRuntimeId: NullableString,
  artifactCount: Type.Integer(),
  warnings: Type.Array(UsageWarning),
});
export const Usage = Type.Object({
  schemaVersion: Type.Literal('runtime-usage.inspect/v1'),
  scope: ScopeView,
  generatedAt: Type.String(),
  observedAt: NullableString,
  freshness: Freshness,
  partial: Type.Boolean(),
  totals: Totals,
  byProject: Type.Array(UsageEntry),
  byEnvironment: Type.Array(UsageEntry),
  byResource: Type.Array(UsageEntry),
  byDeployment: Type.Array(UsageEntry),
  artifacts: Type.Array(
    Type.Object({
      kind: Type.String(),
      ownership: Type.String(),
      serverId: Type.String(),
      projectId: NullableString,
      environmentId: NullableString,
      resourceId: NullableString,
      deploymentId: NullableString,
      destinationId: Type.String(),
      runtimeId: NullableString,
      bytes: Type.Number(),
      inodeCount: Num,
      observedAt: Type.String(),
      evidence: Type.Array(Type.Object({ source: Type.String(), key: Type.String() })),
      reclaimable: Type.String(),
      reclaimBlockedReason: NullableString,
      warnings: Type.Array(UsageWarning),
    }),
  ),
  warnings: Type.Array(UsageWarning),
  sourceErrors: Type.Array(SourceError),
});
