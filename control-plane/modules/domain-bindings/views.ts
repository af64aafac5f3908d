import type { EdgeTlsMode } from '../../../shared/edge-command.js';
import type { Certificate } from '../certificates/entity.js';
import { currentCertificate } from '../certificates/views.js';
import type { DomainBinding, VerificationAttempt } from './entity.js';
import { challengePath, challengeRecordName } from './ownership.js';

/** Domain binding statuses (seed `status`, as Appaloft names them). */
export const bindingStatuses = [
  'requested',
  'pending_verification',
  'bound',
  'certificate_pending',
  'ready',
  'not_ready',
  'failed',
  'deleted',
] as const;
export type BindingStatus = (typeof bindingStatuses)[number];

const errorCodeOf: Record<VerificationAttempt['outcome'], string | null> = {
  verified: null,
  not_found: 'ownership_record_missing',
  mismatch: 'ownership_mismatch',
  lookup_failed: 'ownership_lookup_failed',
};

/** True when the binding takes no certificate at all. */
export const tlsOff = (binding: DomainBinding) =>
  binding.tlsMode === 'disabled' || binding.certificatePolicy === 'disabled';

/**
 * The binding's status from what is stored (docs/domains.md): ownership first (`requested` before any check,
 * `pending_verification` while the record is missing, `failed` when a check contradicted it), then the route
 * (`bound`: not routed by Berth's Caddy) and the certificate (`certificate_pending`, `ready`, `not_ready`).
 * Ownership is reported, never enforced: the route is served whatever this says.
 */
export function bindingStatusOf(binding: DomainBinding, certificates: Certificate[]): BindingStatus {
  if (binding.deletedAt) return 'deleted';
  const last = binding.verificationAttempts.at(-1);
  if (!binding.ownershipVerifiedAt) {
    if (!last) return 'requested';
    return last.outcome === 'not_found' ? 'pending_verification' : 'failed';
  }
  if (binding.proxyKind !== 'caddy') return 'bound';
  if (tlsOff(binding)) return 'ready';
  const current = currentCertificate(certificates);
  if (current?.status === 'active') return 'ready';
  if (!current || ['pending', 'issuing', 'renewing'].includes(current.status)) return 'certificate_pending';
  return 'not_ready';
}

/** How the edge proxy serves the binding over TLS: an active imported certificate, Caddy's ACME, or not at all. */
export function edgeTlsOf(binding: DomainBinding, certificates: Certificate[]): EdgeTlsMode {
  if (tlsOff(binding)) return 'none';
  const live = certificates.filter((c) => c.status !== 'deleted');
  if (live.some((c) => c.source === 'imported' && c.status === 'active')) return 'imported';
  if (binding.certificatePolicy === 'manual') return 'none';
  const managed = currentCertificate(live.filter((c) => c.source === 'managed'));
  return managed?.status === 'revoked' ? 'none' : 'acme';
}

/** The seed's binding summary, with the challenge to publish and the latest ownership check. */
export function bindingView(binding: DomainBinding, certificates: Certificate[]) {
  const last = binding.verificationAttempts.at(-1);
  const token = binding.challengeToken;
  return {
    id: binding.id,
    projectId: binding.project.id,
    environmentId: binding.environment.id,
    resourceId: binding.resource.id,
    serverId: binding.server?.id ?? null,
    destinationId: null,
    domainName: binding.domainName,
    pathPrefix: binding.pathPrefix,
    proxyKind: binding.proxyKind,
    tlsMode: binding.tlsMode,
    redirectTo: binding.redirectTo ?? null,
    redirectStatus: binding.redirectStatus ?? null,
    certificatePolicy: binding.certificatePolicy,
    status: bindingStatusOf(binding, certificates),
    dnsObservation: binding.dnsObservation,
    verificationAttemptCount: binding.verificationAttempts.length,
    ownershipVerified: binding.ownershipVerifiedAt != null,
    ownershipChallenge: {
      txtRecordName: challengeRecordName(binding.domainName),
      txtRecordValue: token,
      httpUrl: `http://${binding.domainName}${challengePath(token)}`,
      httpBody: token,
    },
    latestVerificationAttempt: last ? { ...last, errorCode: errorCodeOf[last.outcome] } : null,
    createdAt: binding.createdAt.toISOString(),
    updatedAt: binding.updatedAt.toISOString(),
    deletedAt: binding.deletedAt?.toISOString() ?? null,
  };
}

/** Whether the binding can be deleted: an active certificate blocks; kept certificate history is a warning. */
export function deleteSafetyOf(binding: DomainBinding, certificates: Certificate[]) {
  const live = certificates.filter((c) => c.status !== 'deleted');
  const active = live.filter((c) => ['active', 'renewing'].includes(c.status));
  const finding = (kind: string, severity: string, message: string, related: Certificate[]) => ({
    kind,
    severity,
    message,
    relatedEntityType: 'certificate',
    relatedEntityId: related[0]!.id,
    count: related.length,
  });
  const blockers = active.length
    ? [
        finding(
          'active-certificate',
          'blocking',
          'Revoke the active certificate first (POST /certificates/{certificateId}/revoke).',
          active,
        ),
      ]
    : [];
  const history = certificates.filter((c) => !active.includes(c));
  const warnings = history.length
    ? [finding('certificate-history', 'warning', 'Certificate records and attempts are kept for audit.', history)]
    : [];
  return {
    domainBindingId: binding.id,
    safeToDelete: blockers.length === 0,
    blockers,
    warnings,
    preservesGeneratedAccess: true,
    preservesDeploymentSnapshots: true,
    preservesServerAppliedRouteAudit: true,
  };
}
