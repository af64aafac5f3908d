import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { DomainBinding } from '../domain-bindings/entity.js';
import { Organization } from '../identity/entity.js';

/** Certificate statuses (seed `status`). */
export const certificateStatuses = [
  'pending',
  'issuing',
  'active',
  'renewing',
  'failed',
  'expired',
  'disabled',
  'revoked',
  'deleted',
] as const;
export type CertificateStatus = (typeof certificateStatuses)[number];
/** `managed`: obtained by the edge proxy's ACME automation; `imported`: a chain and key a user uploaded. */
export const certificateSources = ['managed', 'imported'] as const;
/** Statuses of one issuance attempt (seed `latestAttempt.status`). */
export const attemptStatuses = ['requested', 'issuing', 'issued', 'failed', 'retry_scheduled'] as const;
/** Why an attempt was made. */
export const attemptReasons = ['issue', 'renew', 'replace'] as const;

/** One issuance, renewal or import of a certificate, kept on the certificate (newest last). */
export interface CertificateAttempt {
  id: string;
  status: (typeof attemptStatuses)[number];
  reason: (typeof attemptReasons)[number];
  providerKey: string;
  challengeType: string;
  requestedAt: string;
  issuedAt: string | null;
  expiresAt: string | null;
  failedAt: string | null;
  errorCode: string | null;
  failurePhase: string | null;
  failureMessage: string | null;
  // Whether a retry may succeed: true only on a failure worth retrying (false before any failure).
  retriable: boolean;
  retryAfter: string | null;
}

/**
 * A TLS certificate of a domain binding. A managed one is obtained by Caddy (ACME) on the binding's server; Berth
 * records the request and reads back what Caddy serves. An imported one carries its chain and a sealed private key
 * (never shown again). Deleted certificates keep their row and attempts for audit.
 */
export const Certificate = defineEntity({
  name: 'Certificate',
  tableName: 'certificates',
  indexes: [{ properties: ['domainBinding', 'createdAt'] }, { properties: ['organization', 'createdAt'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    domainBinding: () => p.manyToOne(DomainBinding).ref().deleteRule('cascade'),
    domainName: p.string().length(253),
    source: p.enum([...certificateSources]),
    status: p.enum([...certificateStatuses]),
    providerKey: p.string().length(60),
    challengeType: p.string().length(40),
    issuedAt: p.datetime().nullable(),
    notBefore: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    fingerprint: p.string().length(100).nullable(),
    serialNumber: p.string().length(100).nullable(),
    issuer: p.string().length(500).nullable(),
    keyAlgorithm: p.string().length(40).nullable(),
    subjectAlternativeNames: p.json<string[]>(),
    chainPem: p.text().nullable(),
    sealedPrivateKey: p.text().nullable(),
    attempts: p.json<CertificateAttempt[]>(),
    // A domainErrorCodes code set by the daily expiry check (expiry-job.ts) while it expires within 30 days.
    expiryWarning: p.string().length(500).nullable(),
    observedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    deletedAt: p.datetime().nullable(),
  },
});
export type Certificate = InferEntity<typeof Certificate>;
