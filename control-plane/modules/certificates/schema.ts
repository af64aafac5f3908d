import { Type } from 'typebox';
import { attemptReasons, attemptStatuses, certificateSources, certificateStatuses } from './entity.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const IdempotencyKey = Type.Optional(
  Type.String({ minLength: 1, maxLength: 200, description: 'Accepted; the operation is idempotent by itself.' }),
);
// A PEM chain of a few certificates is a few KiB; the body limit bounds it anyway.
const Pem = (description: string) => Type.String({ minLength: 1, maxLength: 65_536, description });

export const CertificateParams = Type.Object({ certificateId: Id });

export const ListQuery = Type.Object({
  domainBindingId: Type.Optional(Id),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});

export const ImportBody = Type.Object(
  {
    domainBindingId: Id,
    certificateChain: Pem('PEM certificates, the leaf first, each followed by the one that issued it.'),
    privateKey: Pem("The leaf's unencrypted PEM private key; sealed at rest and never shown again."),
    idempotencyKey: IdempotencyKey,
  },
  { additionalProperties: false },
);

export const IssueBody = Type.Object(
  { domainBindingId: Id, idempotencyKey: IdempotencyKey },
  { additionalProperties: false },
);

export const EmptyBody = Type.Object({ idempotencyKey: IdempotencyKey }, { additionalProperties: false });

export const DeleteBody = Type.Object(
  {
    confirmation: Type.Object(
      { certificateId: Type.String({ minLength: 1, description: 'Must repeat the id in the path.' }) },
      { additionalProperties: false },
    ),
    idempotencyKey: IdempotencyKey,
  },
  { additionalProperties: false },
);

/** One issuance, renewal or import attempt (seed `latestAttempt` / `attempts[]`). */
export const AttemptView = Type.Object({
  id: Type.String(),
  status: Type.Enum(attemptStatuses),
  reason: Type.Enum(attemptReasons),
  providerKey: Type.String(),
  challengeType: Type.String(),
  requestedAt: Type.String({ format: 'date-time' }),
  issuedAt: NullableTime,
  expiresAt: NullableTime,
  failedAt: NullableTime,
  errorCode: NullableString,
  failurePhase: NullableString,
  failureMessage: NullableString,
  retriable: Type.Boolean(),
  retryAfter: NullableTime,
});

/** The seed's certificate read model (safe metadata, never the key), plus what Berth observed. */
export const CertificateView = Type.Object({
  id: Type.String(),
  domainBindingId: Type.String(),
  domainName: Type.String(),
  status: Type.Enum(certificateStatuses),
  source: Type.Enum(certificateSources),
  providerKey: Type.String(),
  challengeType: Type.String(),
  issuedAt: NullableTime,
  expiresAt: NullableTime,
  fingerprint: NullableString,
  serialNumber: NullableString,
  notBefore: NullableTime,
  issuer: NullableString,
  keyAlgorithm: NullableString,
  subjectAlternativeNames: Type.Array(Type.String()),
  latestAttempt: Type.Union([AttemptView, Type.Null()]),
  attempts: Type.Array(AttemptView),
  expiryWarning: Type.Union([
    Type.Object({
      code: Type.String({ description: 'imported_certificate_expiring or renewal_overdue (docs/errors.md).' }),
      message: Type.String(),
    }),
    Type.Null(),
  ]),
  /** When the edge proxy was last seen serving it (managed), or when it was imported. */
  observedAt: NullableTime,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  revokedAt: NullableTime,
});

export const CertificateList = Type.Object({ items: Type.Array(CertificateView) });
export const AttemptResult = Type.Object({ certificateId: Type.String(), attemptId: Type.String() });
export const CertificateResult = Type.Object({ certificateId: Type.String() });
