import { type DomainErrorCode, domainErrorCodes } from '../../../shared/errors.js';
import type { EdgeCertificateRef } from '../edge/ports.js';
import type { Certificate, CertificateAttempt } from './entity.js';

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

/** The certificate a binding is served with or waits for: its active imported one, else its newest managed one. */
export function currentCertificate(certificates: Certificate[]): Certificate | null {
  const live = certificates.filter((c) => c.status !== 'deleted').sort((a, b) => +b.createdAt - +a.createdAt);
  return (
    live.find((c) => c.source === 'imported' && c.status === 'active') ??
    live.find((c) => c.source === 'managed') ??
    null
  );
}

/**
 * The binding's active imported certificate as the edge document names it (without the key, which is added as the
 * `edge.sync` goes on the wire), or null when the binding has none and is served by ACME or not at all.
 */
export function importedEdgeCertificate(certificates: Certificate[]): EdgeCertificateRef | null {
  const current = currentCertificate(certificates);
  if (current?.source !== 'imported' || current.status !== 'active' || !current.chainPem) return null;
  return { certificateId: current.id, hostnames: [current.domainName], chainPem: current.chainPem };
}

const attemptView = (a: CertificateAttempt) => ({ ...a, retriable: a.retriable ?? false });

/** The stored warning code (expiry-job.ts) with a sentence that names the expiry. */
function expiryWarningView(certificate: Certificate) {
  const code = certificate.expiryWarning as DomainErrorCode | null | undefined;
  if (!code) return null;
  const at = certificate.expiresAt ? ` (notAfter ${certificate.expiresAt.toISOString()})` : '';
  return { code, message: `${domainErrorCodes[code] ?? code}${at}` };
}

/** The seed's safe certificate metadata and attempts: never the chain's key. */
export function certificateView(certificate: Certificate) {
  const attempts = certificate.attempts.map(attemptView);
  return {
    id: certificate.id,
    domainBindingId: certificate.domainBinding.id,
    domainName: certificate.domainName,
    status: certificate.status,
    source: certificate.source,
    providerKey: certificate.providerKey,
    challengeType: certificate.challengeType,
    issuedAt: iso(certificate.issuedAt),
    expiresAt: iso(certificate.expiresAt),
    fingerprint: certificate.fingerprint ?? null,
    serialNumber: certificate.serialNumber ?? null,
    notBefore: iso(certificate.notBefore),
    issuer: certificate.issuer ?? null,
    keyAlgorithm: certificate.keyAlgorithm ?? null,
    subjectAlternativeNames: certificate.subjectAlternativeNames,
    latestAttempt: attempts.at(-1) ?? null,
    attempts,
    expiryWarning: expiryWarningView(certificate),
    observedAt: iso(certificate.observedAt),
    createdAt: certificate.createdAt.toISOString(),
    updatedAt: certificate.updatedAt.toISOString(),
    revokedAt: iso(certificate.revokedAt),
  };
}
