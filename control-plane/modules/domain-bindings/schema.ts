import { Type } from 'typebox';
import { bindingProxyKinds, bindingTlsModes, certificatePolicies, ownershipMethods } from './entity.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const Open = Type.Object({}, { additionalProperties: true });
const RedirectStatus = Type.Union([Type.Literal(301), Type.Literal(302), Type.Literal(307), Type.Literal(308)]);
const PathPrefix = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: "^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$",
  description: 'Starts with "/"; "/" (the default) for the whole host.',
});
const DomainName = Type.String({
  minLength: 1,
  maxLength: 300,
  description: 'Lower-case RFC 1123 host name, 253 characters at most; no wildcard, no IP address.',
});

export const BindingParams = Type.Object({ domainBindingId: Id });

export const ListQuery = Type.Object({
  projectId: Type.Optional(Id),
  environmentId: Type.Optional(Id),
  resourceId: Type.Optional(Id),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});

export const CreateBody = Type.Object(
  {
    projectId: Id,
    environmentId: Id,
    resourceId: Id,
    serverId: Type.Optional(Id),
    destinationId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: 'Refused: Berth has none.' }),
    ),
    domainName: DomainName,
    pathPrefix: Type.Optional(PathPrefix),
    proxyKind: Type.Optional(Type.Enum(bindingProxyKinds, { description: 'Default caddy; traefik is refused.' })),
    tlsMode: Type.Optional(Type.Enum(bindingTlsModes)),
    certificatePolicy: Type.Optional(Type.Enum(certificatePolicies)),
    redirectTo: Type.Optional(DomainName),
    redirectStatus: Type.Optional(RedirectStatus),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const RouteBody = Type.Object(
  {
    resourceId: Type.Optional(Id),
    pathPrefix: Type.Optional(PathPrefix),
    redirectTo: Type.Optional(Type.Union([DomainName, Type.Null()])),
    redirectStatus: Type.Optional(RedirectStatus),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const OwnershipBody = Type.Object(
  {
    method: Type.Optional(Type.Enum(ownershipMethods, { description: 'Default: dns-txt.' })),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const RetryBody = Type.Object(
  { idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);

export const DeleteBody = Type.Object(
  {
    confirmation: Type.Object(
      { domainBindingId: Type.String({ minLength: 1, description: 'Must repeat the id in the path.' }) },
      { additionalProperties: false },
    ),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

const DnsObservation = Type.Object({
  status: Type.String(),
  expectedTargets: Type.Array(Type.String()),
  observedTargets: Type.Array(Type.String()),
  checkedAt: NullableString,
  message: NullableString,
});

const VerificationAttempt = Type.Object({
  id: Type.String(),
  method: Type.String(),
  outcome: Type.String(),
  errorCode: NullableString,
  target: Type.String(),
  evidence: Type.String(),
  message: Type.String(),
  checkedAt: Type.String(),
});

/** The seed's binding summary, plus the challenge to publish and the latest ownership check. */
export const BindingSummary = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  environmentId: Type.String(),
  resourceId: Type.String(),
  serverId: NullableString,
  destinationId: NullableString,
  domainName: Type.String(),
  pathPrefix: Type.String(),
  proxyKind: Type.String(),
  tlsMode: Type.String(),
  redirectTo: NullableString,
  redirectStatus: Type.Union([Type.Integer(), Type.Null()]),
  certificatePolicy: Type.String(),
  status: Type.String(),
  dnsObservation: DnsObservation,
  verificationAttemptCount: Type.Integer(),
  ownershipVerified: Type.Boolean(),
  ownershipChallenge: Type.Object({
    txtRecordName: Type.String(),
    txtRecordValue: Type.String(),
    httpUrl: Type.String(),
    httpBody: Type.String(),
  }),
  latestVerificationAttempt: Type.Union([VerificationAttempt, Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  deletedAt: NullableString,
});

export const BindingList = Type.Object({ items: Type.Array(BindingSummary) });

const DeleteFinding = Type.Object({
  kind: Type.String(),
  severity: Type.String(),
  message: Type.String(),
  relatedEntityType: Type.String(),
  relatedEntityId: Type.String(),
  count: Type.Integer(),
});

export const DeleteSafety = Type.Object({
  domainBindingId: Type.String(),
  safeToDelete: Type.Boolean(),
  blockers: Type.Array(DeleteFinding),
  warnings: Type.Array(DeleteFinding),
  preservesGeneratedAccess: Type.Boolean(),
  preservesDeploymentSnapshots: Type.Boolean(),
  preservesServerAppliedRouteAudit: Type.Boolean(),
});

export const BindingDetail = Type.Object({
  binding: BindingSummary,
  routeReadiness: Type.Object({
    status: Type.String(),
    routeBehavior: Type.String(),
    selectedRoute: Open,
    contextRoutes: Type.Array(Open),
  }),
  generatedAccessFallback: Type.Union([Open, Type.Null()]),
  proxyReadiness: Type.String(),
  certificates: Type.Array(Open),
  deleteSafety: DeleteSafety,
});

export const IdResult = Type.Object({ id: Type.String() });
export const AttemptResult = Type.Object({
  id: Type.String(),
  verificationAttemptId: Type.String(),
  outcome: Type.String(),
  status: Type.String(),
  message: Type.String(),
});
