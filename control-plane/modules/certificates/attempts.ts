import type { ServedCertificate } from '../../../shared/edge-command.js';
import type { DomainErrorCode } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Certificate, CertificateAttempt } from './entity.js';

/** Who obtains a managed certificate and how: Caddy's ACME automation (it answers HTTP-01 or TLS-ALPN-01 itself). */
export const managedProvider = { providerKey: 'caddy-acme', challengeType: 'http-01' } as const;
/** An imported certificate has no provider and no challenge. */
export const importedProvider = { providerKey: 'import', challengeType: 'none' } as const;

/** A new attempt in `status`, requested at `at`. */
export function newAttempt(
  at: Date,
  reason: CertificateAttempt['reason'],
  status: CertificateAttempt['status'],
  provider: { providerKey: string; challengeType: string },
): CertificateAttempt {
  return {
    id: newId('certificateAttempt', at.getTime()),
    status,
    reason,
    providerKey: provider.providerKey,
    challengeType: provider.challengeType,
    requestedAt: at.toISOString(),
    issuedAt: null,
    expiresAt: null,
    failedAt: null,
    errorCode: null,
    failurePhase: null,
    failureMessage: null,
    retriable: false,
    retryAfter: null,
  };
}

/** The newest attempt, or undefined before the first. */
export const latestAttempt = (certificate: Certificate): CertificateAttempt | undefined => certificate.attempts.at(-1);

/** True while an attempt waits for the edge proxy to serve the certificate. */
export const inFlight = (attempt: CertificateAttempt | undefined): boolean =>
  attempt?.status === 'requested' || attempt?.status === 'issuing' || attempt?.status === 'retry_scheduled';

/**
 * Replaces the newest attempt with `change` applied. The JSON column is replaced, not mutated in place, so the
 * unit of work sees the change.
 */
export function updateLatestAttempt(certificate: Certificate, change: Partial<CertificateAttempt>): void {
  const attempts = [...certificate.attempts];
  const last = attempts.pop();
  if (last === undefined) return;
  certificate.attempts = [...attempts, { ...last, ...change }];
}

/** Marks the newest attempt failed with a stable code. */
export function failLatestAttempt(
  certificate: Certificate,
  at: Date,
  errorCode: DomainErrorCode,
  failurePhase: string,
  failureMessage: string,
  retriable: boolean,
): void {
  updateLatestAttempt(certificate, {
    status: 'failed',
    failedAt: at.toISOString(),
    errorCode,
    failurePhase,
    failureMessage: failureMessage.slice(0, 1000),
    retriable,
  });
}

/** The name a served SAN entry stands for (`DNS:a.example` → `a.example`); other kinds are left as they are. */
const sanName = (entry: string) => (entry.startsWith('DNS:') ? entry.slice(4).toLowerCase() : entry);

/** Copies what the edge proxy was seen serving onto the certificate. */
export function recordServed(certificate: Certificate, served: ServedCertificate, at: Date): void {
  certificate.issuer = served.issuer;
  certificate.serialNumber = served.serialNumber;
  certificate.fingerprint = served.fingerprint;
  certificate.notBefore = served.notBefore ? new Date(served.notBefore) : null;
  certificate.issuedAt = certificate.notBefore;
  certificate.expiresAt = served.notAfter ? new Date(served.notAfter) : null;
  certificate.subjectAlternativeNames = served.subjectAlternativeNames.map(sanName);
  certificate.keyAlgorithm = served.keyAlgorithm;
  certificate.observedAt = at;
  certificate.updatedAt = at;
}
