import type { EntityManager } from '@mikro-orm/postgresql';
import type { EdgeRoute } from '../../../shared/edge-command.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import { DomainBinding } from '../domain-bindings/entity.js';
import { managedProvider, newAttempt } from './attempts.js';
import { Certificate } from './entity.js';

/**
 * Automatic HTTPS, as Caddy and Coolify do it: a binding's route that an agent applied with `tls: acme` makes Caddy
 * obtain a certificate at once, so Berth records a managed certificate for it (an `issue` attempt, `issuing`) when
 * the binding has no live certificate yet. The observer then reads back what Caddy serves and fills issuer, serial
 * and expiry, or fails the attempt at its deadline. A binding whose certificate was revoked or deleted is served
 * without TLS (edge-source.ts) and is not asked for one again: `issue-or-renew` does that on request.
 * Returns the ids of the certificates it created.
 */
export async function requestAutomaticCertificates(
  em: EntityManager,
  at: Date,
  log: Logger,
  routes: Pick<EdgeRoute, 'routeId' | 'tls'>[],
): Promise<string[]> {
  const ids = routes.filter((r) => r.tls === 'acme').map((r) => r.routeId);
  if (ids.length === 0) return [];
  const bindings = await em.find(DomainBinding, {
    id: { $in: ids },
    deletedAt: null,
    certificatePolicy: 'auto',
    tlsMode: { $ne: 'disabled' },
  });
  if (bindings.length === 0) return [];
  const existing = await em.find(Certificate, { domainBinding: { $in: bindings.map((b) => b.id) } });
  const created: string[] = [];
  for (const binding of bindings) {
    if (existing.some((c) => c.domainBinding.id === binding.id)) continue;
    const certificate = em.create(Certificate, {
      id: newId('certificate', at.getTime()),
      organization: binding.organization.id,
      domainBinding: binding.id,
      domainName: binding.domainName,
      source: 'managed',
      status: 'issuing',
      ...managedProvider,
      subjectAlternativeNames: [],
      attempts: [newAttempt(at, 'issue', 'issuing', managedProvider)],
      createdAt: at,
      updatedAt: at,
    });
    created.push(certificate.id);
  }
  if (created.length === 0) return [];
  await em.flush();
  log.info({ certificateIds: created }, 'certificates requested for automatic HTTPS');
  return created;
}
