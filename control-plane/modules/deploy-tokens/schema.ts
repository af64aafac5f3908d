import { Type } from 'typebox';
import { deployTokenStatuses } from './entity.js';

/** The workflow commands a deploy token can be allowed; reads within the scope need none. */
export const workflowCommands = ['deploy', 'redeploy', 'rollback', 'source-link-deploy', 'preview-cleanup'] as const;

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Ids = Type.Array(Id, { maxItems: 200 });
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

/** A deploy token's scope as clients send it; omitted lists mean "any". */
export const ScopeInput = Type.Object(
  {
    deploymentTargetIds: Type.Optional(Ids),
    environmentIds: Type.Optional(Ids),
    projectIds: Type.Optional(Ids),
    repositoryFullNames: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 200 })),
    resourceIds: Type.Optional(Ids),
    workflowCommands: Type.Array(Type.Enum(workflowCommands), { minItems: 1, uniqueItems: true }),
  },
  { additionalProperties: false },
);

/** A deploy token's scope as every read shows it. */
export const Scope = Type.Object({
  deploymentTargetIds: Type.Array(Type.String()),
  environmentIds: Type.Array(Type.String()),
  projectIds: Type.Array(Type.String()),
  repositoryFullNames: Type.Array(Type.String()),
  resourceIds: Type.Array(Type.String()),
  workflowCommands: Type.Array(Type.String()),
});

/** One deploy token, without its secret. */
export const DeployTokenView = Type.Object({
  tokenId: Type.String(),
  organizationId: Type.String(),
  displayName: Type.String(),
  status: Type.Enum(deployTokenStatuses),
  secretSuffix: Type.String(),
  scope: Scope,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  lastUsedAt: NullableTimestamp,
  rotatedAt: NullableTimestamp,
  revokedAt: NullableTimestamp,
});

export const ListQuery = Type.Object({
  organizationId: Type.String({ minLength: 1 }),
  status: Type.Optional(Type.Enum(deployTokenStatuses)),
  resourceId: Type.Optional(Type.String({ minLength: 1 })),
  repositoryFullName: Type.Optional(Type.String({ minLength: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 100 })),
});
export const ShowQuery = Type.Object({ organizationId: Type.String({ minLength: 1 }) });
export const TokenParams = Type.Object({ tokenId: Id });
export const DeployTokenList = Type.Object({ items: Type.Array(DeployTokenView) });

export const CreateBody = Type.Object(
  {
    organizationId: Type.String({ minLength: 1 }),
    displayName: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    scope: ScopeInput,
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'Default: 90 days from now.' })),
  },
  { additionalProperties: false },
);
export const Created = Type.Object({
  tokenId: Type.String(),
  token: Type.String({ description: 'The secret, shown this once. Send as "Authorization: Bearer <token>".' }),
  organizationId: Type.String(),
  displayName: Type.String(),
  secretSuffix: Type.String(),
  scopes: Scope,
  createdAt: Timestamp,
  expiresAt: Timestamp,
});

const Confirmation = Type.Object(
  { tokenId: Type.String({ minLength: 1, description: 'Must repeat the id in the path.' }) },
  { additionalProperties: false },
);
export const ConfirmBody = Type.Object(
  { organizationId: Type.String({ minLength: 1 }), confirmation: Confirmation },
  { additionalProperties: false },
);
export const Rotated = Type.Object({
  tokenId: Type.String(),
  token: Type.String(),
  rotatedAt: Timestamp,
  scopes: Scope,
});
export const Revoked = Type.Object({ tokenId: Type.String(), revokedAt: Timestamp });
