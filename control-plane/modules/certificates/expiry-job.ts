import type { EntityManager } from '@mikro-orm/postgresql';
import type { DomainErrorCode } from '../../../shared/errors.js';
import { Certificate } from './entity.js';

/** A certificate expiring within this many days carries an expiry warning. */
export const expiryWarningDays = 30;

/** What one expiry check changed. */
export interface ExpiryCheckSummary {
  warned: string[];
  expired: string[];
  cleared: string[];
}

/**
 * The daily expiry check, at `now`: every certificate in use (active or renewing) that expires within 30 days gets
 * an `expiryWarning` — `imported_certificate_expiring` for an imported one (only a new import helps),
 * `renewal_overdue` for a managed one (Caddy renews with a third of the lifetime left, so a managed certificate
 * this close to its end means renewal failed) — and one past its notAfter becomes `expired`. A warning whose
 * certificate was renewed meanwhile is cleared.
 */
export async function checkCertificateExpiry(em: EntityManager, now: Date): Promise<ExpiryCheckSummary> {
  const summary: ExpiryCheckSummary = { warned: [], expired: [], cleared: [] };
  const horizon = new Date(now.getTime() + expiryWarningDays * 86_400_000);
  const certificates = await em.find(Certificate, {
    deletedAt: null,
    status: { $in: ['active', 'renewing', 'expired'] },
  });
  for (const certificate of certificates) {
    const expiresAt = certificate.expiresAt;
    let warning: DomainErrorCode | null = null;
    if (expiresAt && expiresAt <= now) {
      warning = 'certificate_expired_unrenewed';
      if (certificate.status !== 'expired') {
        certificate.status = 'expired';
        summary.expired.push(certificate.id);
      }
    } else if (expiresAt && expiresAt <= horizon) {
      warning = certificate.source === 'imported' ? 'imported_certificate_expiring' : 'renewal_overdue';
    }
    if (warning === (certificate.expiryWarning ?? null)) continue;
    if (warning === null) summary.cleared.push(certificate.id);
    else if (!summary.expired.includes(certificate.id)) summary.warned.push(certificate.id);
    certificate.expiryWarning = warning;
    certificate.updatedAt = now;
  }
  await em.flush();
  return summary;
}
