import { Type } from 'typebox';
import { EntryView } from '../configuration/schema.js';
import { environmentKinds, environmentLifecycleStatuses } from './entity.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const Name = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '\\S',
  description: '1–100 characters, unique in the project (case-insensitive).',
});
const Reason = Type.String({ maxLength: 500 });

/** An environment as every read returns it (the seed's bare shape), variables masked. */
export const EnvironmentView = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  name: Type.String(),
  kind: Type.Enum(environmentKinds),
  parentEnvironmentId: NullableString,
  lifecycleStatus: Type.Enum(environmentLifecycleStatuses),
  lockedAt: NullableTimestamp,
  lockReason: NullableString,
  archivedAt: NullableTimestamp,
  archiveReason: NullableString,
  createdAt: Type.String({ format: 'date-time' }),
  maskedVariables: Type.Array(EntryView),
});

export const EnvironmentParams = Type.Object({ environmentId: Type.String({ minLength: 1, maxLength: 100 }) });
export const VariableParams = Type.Object({
  environmentId: Type.String({ minLength: 1, maxLength: 100 }),
  key: Type.String({ minLength: 1, maxLength: 255 }),
});
export const CountQuery = Type.Object({ projectId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) });
export const ListQuery = Type.Object({
  projectId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100, description: '0 < limit <= 500' })),
});
export const EnvironmentList = Type.Object({ items: Type.Array(EnvironmentView) });
export const CreateBody = Type.Object(
  {
    projectId: Type.String({ minLength: 1, maxLength: 100 }),
    name: Name,
    kind: Type.Optional(Type.Enum(environmentKinds, { description: 'Defaults to "custom".' })),
  },
  { additionalProperties: false },
);
export const RenameBody = Type.Object({ name: Name }, { additionalProperties: false });
export const ReasonBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export const EmptyBody = Type.Object({}, { additionalProperties: false });

export const EffectivePrecedence = Type.Object({
  schemaVersion: Type.Literal('environments.effective-precedence/v1'),
  environmentId: Type.String(),
  projectId: Type.String(),
  ownedEntries: Type.Array(EntryView),
  effectiveEntries: Type.Array(EntryView),
  precedence: Type.Array(Type.String(), { description: 'Layers from lowest to highest; a higher layer wins.' }),
  generatedAt: Type.String({ format: 'date-time' }),
});
