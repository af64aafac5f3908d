import { AppError, type DomainErrorCode, domainErrorCodes } from '../../../shared/errors.js';
import type { DomainBinding } from '../domain-bindings/entity.js';

/** A `CONFLICT` with the finer reason in `details.reason` and its explanation as the hint. */
export function conflict(reason: DomainErrorCode, message: string, field?: string): AppError {
  return new AppError('conflict', message, {
    ...(field ? { field } : {}),
    hint: domainErrorCodes[reason],
    details: { reason },
  });
}

/** Refuses any certificate for a binding served without TLS (`tlsMode` or `certificatePolicy` "disabled"). */
export function requireTls(binding: DomainBinding): void {
  if (binding.tlsMode === 'disabled' || binding.certificatePolicy === 'disabled') {
    throw conflict(
      'certificate_tls_disabled',
      `Domain binding "${binding.id}" has TLS disabled (tlsMode "${binding.tlsMode}", certificatePolicy "${binding.certificatePolicy}"); it takes no certificate.`,
      'domainBindingId',
    );
  }
}

/** Refuses a managed (ACME) request for a binding that takes no certificate, imported ones only, or is not routed. */
export function requireManagedAllowed(binding: DomainBinding): void {
  requireTls(binding);
  if (binding.certificatePolicy === 'manual') {
    throw conflict(
      'certificate_policy_manual',
      `Domain binding "${binding.id}" has certificatePolicy "manual".`,
      'domainBindingId',
    );
  }
  if (binding.proxyKind !== 'caddy') {
    throw conflict(
      'certificate_not_routed',
      `Domain binding "${binding.id}" has proxyKind "${binding.proxyKind}": no Berth-managed Caddy serves it.`,
      'domainBindingId',
    );
  }
}
