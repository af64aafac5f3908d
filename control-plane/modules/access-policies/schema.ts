import { Type } from 'typebox';
import { accessPolicyModes, accessPolicyScopeKinds } from './entity.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const ServerId = Type.String({ minLength: 1, maxLength: 100 });

/** The scope a policy is set for: `{kind: "system"}` or `{kind: "deployment-target", serverId}`. */
export const ScopeInput = Type.Object(
  {
    kind: Type.Enum(accessPolicyScopeKinds),
    serverId: Type.Optional(ServerId),
  },
  { additionalProperties: false },
);

export const ConfigureBody = Type.Object(
  {
    scope: ScopeInput,
    mode: Type.Enum(accessPolicyModes),
    providerKey: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 60, examples: ['sslip'] }), Type.Null()], {
        description: 'Needed by mode "provider", accepted by "custom-template", refused by "disabled".',
      }),
    ),
    templateRef: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' }), Type.Null()], {
        description: 'Needed by mode "custom-template".',
      }),
    ),
    idempotencyKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Accepted; setting a policy is idempotent by itself.' }),
    ),
  },
  { additionalProperties: false },
);

const ScopeView = Type.Object({ kind: Type.Enum(accessPolicyScopeKinds), serverId: Type.Optional(Type.String()) });

/** One stored policy. */
export const PolicyView = Type.Object({
  schemaVersion: Type.Literal('default-access-domain-policies.policy/v1'),
  id: Type.String(),
  scope: ScopeView,
  mode: Type.Enum(accessPolicyModes),
  providerKey: NullableString,
  templateRef: NullableString,
  updatedAt: Type.String({ format: 'date-time' }),
});
export const PolicyList = Type.Object({
  schemaVersion: Type.Literal('default-access-domain-policies.list/v1'),
  items: Type.Array(PolicyView),
});
export const ShowQuery = Type.Object({
  scopeKind: Type.Optional(Type.Enum(accessPolicyScopeKinds, { default: 'system' })),
  serverId: Type.Optional(ServerId),
});
export const PolicyShow = Type.Object({
  schemaVersion: Type.Literal('default-access-domain-policies.show/v1'),
  scope: ScopeView,
  policy: Type.Union([PolicyView, Type.Null()], { description: 'null when nothing is stored for this scope.' }),
});
export const IdResult = Type.Object({ id: Type.String() });
