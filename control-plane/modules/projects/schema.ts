import { Type } from 'typebox';
import { projectLifecycleStatuses } from './entity.js';

/** Longest project name, in characters after trimming. */
export const projectNameMaxLength = 100;

const Name = Type.String({
  minLength: 1,
  maxLength: projectNameMaxLength,
  pattern: '\\S',
  description: `1–${projectNameMaxLength} characters, unique in the organization (case-insensitive).`,
});
const Reason = Type.String({ maxLength: 500 });
const NullableString = Type.Union([Type.String(), Type.Null()]);

/** A project as every read returns it (the seed's bare project shape). */
export const ProjectView = Type.Object({
  id: Type.String(),
  organizationId: Type.String(),
  name: Type.String(),
  slug: Type.String(),
  description: NullableString,
  lifecycleStatus: Type.Enum(projectLifecycleStatuses),
  archivedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  archiveReason: NullableString,
  createdAt: Type.String({ format: 'date-time' }),
});

/** `{id}`: what every project command answers. */
export const IdResult = Type.Object({ id: Type.String() });
export const ProjectParams = Type.Object({ projectId: Type.String({ minLength: 1, maxLength: 100 }) });
export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100, description: '0 < limit <= 500' })),
  lifecycleStatus: Type.Optional(Type.Enum(['active', 'archived'])),
});
export const ProjectList = Type.Object({ items: Type.Array(ProjectView) });
export const CountResult = Type.Object({ count: Type.Integer() });
export const CreateBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    organizationId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: "The caller's current organization (GET /organizations/current-context); any other is NOT_FOUND.",
      }),
    ),
  },
  { additionalProperties: false },
);
export const RenameBody = Type.Object({ name: Name }, { additionalProperties: false });
export const DescriptionBody = Type.Object(
  { description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])) },
  { additionalProperties: false, description: 'An empty, null or missing description clears it.' },
);
export const ArchiveBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export const EmptyBody = Type.Object({}, { additionalProperties: false });
export const DeleteBody = Type.Object(
  {
    confirmation: Type.Object(
      { projectId: Type.String({ minLength: 1, description: 'Must repeat the id in the path.' }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export const DeleteCheck = Type.Object({
  schemaVersion: Type.Literal('projects.delete-check/v1'),
  projectId: Type.String(),
  lifecycleStatus: Type.String(),
  eligible: Type.Boolean(),
  blockers: Type.Array(
    Type.Object({
      kind: Type.String({ examples: ['active-project'] }),
      relatedEntityId: Type.String(),
      relatedEntityType: Type.String(),
      count: Type.Integer(),
    }),
  ),
  checkedAt: Type.String({ format: 'date-time' }),
});
