import { Type } from 'typebox';
import { EntryView, Exposure, OverrideView, VariableKey, VariableValue } from '../configuration/schema.js';
import { resourceKinds, resourceLifecycleStatuses } from './entity.js';
import {
  AccessProfileInput,
  HealthCheckInput,
  NetworkProfileInput,
  RuntimeProfileInput,
  SourceInput,
  serviceKinds,
} from './profiles.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);
const Id = Type.String({ minLength: 1, maxLength: 100 });
const Name = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '\\S',
  description: '1–100 characters, unique in the environment (case-insensitive).',
});
const Flag = Type.Boolean({ description: 'true/false (also 1/0)' });
// A section that is not filled yet (no deployment, no route) is null rather than invented.
const Loose = Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]);

export const ResourceParams = Type.Object({ resourceId: Id });
export const KeyParams = Type.Object({ resourceId: Id, key: Type.String({ minLength: 1, maxLength: 255 }) });
export const CountQuery = Type.Object({
  projectId: Type.Optional(Id),
  environmentId: Type.Optional(Id),
  includePreviewResources: Type.Optional(Flag),
});
export const ListQuery = Type.Object({
  projectId: Type.Optional(Id),
  environmentId: Type.Optional(Id),
  includePreviewResources: Type.Optional(Flag),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100, description: '0 < limit <= 500' })),
});
export const ShowQuery = Type.Object({
  includeLatestDeployment: Type.Optional(Flag),
  includeAccessSummary: Type.Optional(Flag),
  includeProfileDiagnostics: Type.Optional(Flag),
});
export const ExposureQuery = Type.Object({ exposure: Type.Optional(Exposure) });

const ServiceView = Type.Object({ name: Type.String(), kind: Type.Enum(serviceKinds) });
const NetworkProfileView = Type.Object({
  internalPort: Type.Integer(),
  upstreamProtocol: Type.String(),
  exposureMode: Type.String(),
  targetServiceName: NullableString,
  hostPort: NullableInteger,
});
const AccessProfileView = Type.Object({ generatedAccessMode: Type.String(), pathPrefix: Type.String() });
const HealthPolicyView = Type.Object({
  enabled: Type.Boolean(),
  type: Type.String(),
  intervalSeconds: Type.Integer(),
  timeoutSeconds: Type.Integer(),
  retries: Type.Integer(),
  startPeriodSeconds: Type.Integer(),
  http: Type.Union([
    Type.Object({
      method: Type.String(),
      scheme: Type.String(),
      host: NullableString,
      port: NullableInteger,
      path: Type.String(),
      expectedStatusCode: Type.Integer(),
      expectedResponseText: NullableString,
    }),
    Type.Null(),
  ]),
  tcp: Type.Union([Type.Object({ port: NullableInteger }), Type.Null()]),
  configured: Type.Boolean({ description: 'false while the default policy applies' }),
});

const ResourceCore = {
  id: Type.String(),
  projectId: Type.String(),
  environmentId: Type.String(),
  destinationId: NullableString,
  name: Type.String(),
  slug: Type.String(),
  kind: Type.Enum(resourceKinds),
  description: NullableString,
  createdAt: Type.String({ format: 'date-time' }),
  services: Type.Array(ServiceView),
  deploymentCount: Type.Integer(),
  lastDeploymentId: NullableString,
  lastDeploymentStatus: NullableString,
};

export const ResourceListItem = Type.Object({
  ...ResourceCore,
  lifecycleStatus: Type.Enum(resourceLifecycleStatuses),
  networkProfile: Type.Union([NetworkProfileView, Type.Null()]),
  accessProfile: AccessProfileView,
  latestRuntimeControl: Loose,
  accessSummary: Loose,
});
export const ResourceList = Type.Object({ items: Type.Array(ResourceListItem) });

const ValueState = Type.Object({ state: Type.String(), displayValue: NullableString, valueHash: NullableString });

export const ResourceShow = Type.Object({
  schemaVersion: Type.Literal('resources.show/v1'),
  resource: Type.Object(ResourceCore),
  source: Type.Union([
    Type.Object({
      kind: Type.String(),
      locator: Type.String(),
      displayName: NullableString,
      sourceBindingFingerprint: NullableString,
      gitRef: NullableString,
      commitSha: NullableString,
      baseDirectory: NullableString,
      originalLocator: NullableString,
      repositoryId: NullableString,
      repositoryFullName: NullableString,
      defaultBranch: NullableString,
      imageName: Type.String(),
      imageTag: NullableString,
      imageDigest: NullableString,
      metadata: Type.Record(Type.String(), Type.String()),
    }),
    Type.Null(),
  ]),
  autoDeployPolicy: Loose,
  runtimeProfile: Type.Object({
    strategy: Type.String(),
    command: Type.Union([Type.Array(Type.String()), Type.Null()]),
    arguments: Type.Union([Type.Array(Type.String()), Type.Null()]),
    startCommand: NullableString,
    workingDirectory: NullableString,
    cpuLimit: Type.Union([Type.Number(), Type.Null()]),
    memoryLimitMb: NullableInteger,
    restartPolicy: Type.String(),
    installCommand: NullableString,
    buildCommand: NullableString,
    runtimeName: NullableString,
    publishDirectory: NullableString,
    dockerfilePath: NullableString,
    dockerComposeFilePath: NullableString,
    buildTarget: NullableString,
    healthCheckPath: NullableString,
    healthCheck: HealthPolicyView,
  }),
  networkProfile: Type.Union([NetworkProfileView, Type.Null()]),
  accessProfile: AccessProfileView,
  healthPolicy: HealthPolicyView,
  storageAttachments: Type.Array(Type.Object({}, { additionalProperties: true })),
  accessSummary: Loose,
  latestDeployment: Loose,
  lifecycle: Type.Object({
    status: Type.Enum(resourceLifecycleStatuses),
    archivedAt: NullableTimestamp,
    archiveReason: NullableString,
    deletedAt: NullableTimestamp,
  }),
  diagnostics: Type.Array(
    Type.Object({
      code: Type.String(),
      severity: Type.String(),
      message: Type.String(),
      path: Type.String(),
      section: Type.String(),
      fieldPath: Type.String(),
      configKey: NullableString,
      configExposure: NullableString,
      configKind: Type.String(),
      configScope: Type.String(),
      configSource: Type.String(),
      comparison: Type.String(),
      resourceValue: ValueState,
      entryProfileValue: ValueState,
      deploymentSnapshotValue: ValueState,
      latestDeploymentId: NullableString,
      configPointer: Type.String(),
      blocksDeploymentAdmission: Type.Boolean(),
      suggestedCommand: Type.String(),
    }),
  ),
  generatedAt: Type.String({ format: 'date-time' }),
});

export const CreateBody = Type.Object(
  {
    projectId: Id,
    environmentId: Id,
    name: Name,
    kind: Type.Optional(Type.Enum(resourceKinds, { description: 'Defaults to "application".' })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    services: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' }),
            kind: Type.Enum(serviceKinds),
          },
          { additionalProperties: false },
        ),
        { maxItems: 20, description: 'Empty or left out: one web service named "web".' },
      ),
    ),
    source: Type.Optional(SourceInput),
    networkProfile: Type.Optional(NetworkProfileInput),
    runtimeProfile: Type.Optional(RuntimeProfileInput),
    healthCheck: Type.Optional(HealthCheckInput),
    accessProfile: Type.Optional(AccessProfileInput),
  },
  { additionalProperties: false },
);

export const DeleteBody = Type.Object(
  {
    confirmation: Type.Object(
      { resourceSlug: Type.String({ minLength: 1, description: "Must repeat the resource's slug." }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export const ReasonBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export const EmptyBody = Type.Object({}, { additionalProperties: false });
export const SourceBody = Type.Object(
  {
    source: SourceInput,
    idempotencyKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Accepted; setting a source is idempotent by itself.' }),
    ),
  },
  { additionalProperties: false },
);
export const NetworkProfileBody = Type.Object({ networkProfile: NetworkProfileInput }, { additionalProperties: false });
export const AccessProfileBody = Type.Object({ accessProfile: AccessProfileInput }, { additionalProperties: false });
export const RuntimeProfileBody = Type.Object({ runtimeProfile: RuntimeProfileInput }, { additionalProperties: false });
export const HealthPolicyBody = Type.Object({ healthCheck: HealthCheckInput }, { additionalProperties: false });

export const ImportBody = Type.Object(
  {
    content: Type.String({ maxLength: 262_144, description: '.env text: KEY=value lines, # comments, quotes.' }),
    exposure: Type.Optional(Exposure),
    secretKeys: Type.Optional(
      Type.Array(VariableKey, {
        maxItems: 1000,
        description: 'Keys to store as secrets, besides those detected by name.',
      }),
    ),
  },
  { additionalProperties: false },
);
export const ImportResult = Type.Object({
  resourceId: Type.String(),
  importedEntries: Type.Array(
    Type.Object({
      key: Type.String(),
      value: Type.String(),
      exposure: Exposure,
      kind: Type.String(),
      isSecret: Type.Boolean(),
      action: Type.String({ examples: ['created', 'updated'] }),
      sourceLine: Type.Integer(),
    }),
  ),
  duplicateOverrides: Type.Array(
    Type.Object({
      key: Type.String(),
      exposure: Exposure,
      firstLine: Type.Integer(),
      lastLine: Type.Integer(),
      rule: Type.String(),
    }),
  ),
  existingOverrides: Type.Array(
    Type.Object({ key: Type.String(), exposure: Exposure, previousScope: Type.String(), rule: Type.String() }),
  ),
});

export const SecretBody = Type.Object(
  { key: VariableKey, value: VariableValue, exposure: Type.Optional(Exposure) },
  { additionalProperties: false },
);
export const RotateSecretBody = Type.Object(
  { value: VariableValue, exposure: Type.Optional(Exposure) },
  { additionalProperties: false },
);
export const DeleteSecretBody = Type.Object({ exposure: Type.Optional(Exposure) }, { additionalProperties: false });
export const SecretResult = Type.Object({ resourceId: Type.String(), key: Type.String(), exposure: Exposure });
const SecretView = Type.Object({ resourceId: Type.String(), ...EntryView.properties });
export const SecretList = Type.Object({
  schemaVersion: Type.Literal('resources.secrets.list/v1'),
  resourceId: Type.String(),
  items: Type.Array(SecretView),
  generatedAt: Type.String({ format: 'date-time' }),
});
export const SecretShow = Type.Object({
  schemaVersion: Type.Literal('resources.secrets.show/v1'),
  secret: SecretView,
  generatedAt: Type.String({ format: 'date-time' }),
});

export const EffectiveConfig = Type.Object({
  schemaVersion: Type.Literal('resources.effective-config/v1'),
  resourceId: Type.String(),
  environmentId: Type.String(),
  ownedEntries: Type.Array(EntryView),
  effectiveEntries: Type.Array(EntryView),
  overrides: Type.Array(OverrideView),
  precedence: Type.Array(Type.String(), { description: 'Layers from lowest to highest; a higher layer wins.' }),
  generatedAt: Type.String({ format: 'date-time' }),
});
