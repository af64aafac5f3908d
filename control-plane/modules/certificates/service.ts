import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import { requireConfirmation } from '../../guards.js';
import type { KeyRing } from '../../secrets/key-ring.js';
import type { DomainBinding } from '../domain-bindings/entity.js';
import { loadBinding } from '../domain-bindings/load.js';
import type { EdgePublisher } from '../edge/ports.js';
import type { AuthContext, Caller } from '../identity/auth-context.js';
import { requireInScope } from '../identity/token-scope.js';
import {
  failLatestAttempt,
  importedProvider,
  inFlight,
  latestAttempt,
  managedProvider,
  newAttempt,
} from './attempts.js';
import type { BindingServers } from './binding-servers.js';
import { Certificate } from './entity.js';
import { validateImport } from './pem.js';
import { conflict, requireManagedAllowed, requireTls } from './refusals.js';
import { certificateView } from './views.js';

/** Dependencies of {@link createCertificateService}. */
export interface CertificateServiceOptions {
  now: Clock;
  log: Logger;
  keyRing: Pick<KeyRing, 'seal' | 'open'>;
  publisher: EdgePublisher;
  serversOf: BindingServers;
}

// Statuses in which the certificate is (or is about to be again) what the edge proxy serves.
const inUse = new Set<Certificate['status']>(['active', 'renewing']);

/**
 * The certificates of domain bindings (seed `/certificates`): imported ones are validated and sealed here and served
 * by the edge proxy as they are; managed ones are requested here, obtained by Caddy's ACME automation on the
 * binding's servers and recorded from what is served (observe.ts). Every change republishes the affected servers'
 * edge documents. Private keys are sealed at rest, never returned and never logged.
 */
export function createCertificateService(options: CertificateServiceOptions) {
  const { now, log, keyRing, publisher, serversOf } = options;

  async function publishFor(em: EntityManager, binding: DomainBinding): Promise<string[]> {
    const serverIds = [...new Set(await serversOf(em, binding))];
    for (const serverId of serverIds) await publisher.publish(em, serverId);
    return serverIds;
  }

  async function load(em: EntityManager, auth: Caller, certificateId: string): Promise<Certificate> {
    const certificate = await em.findOne(
      Certificate,
      { id: certificateId, organization: auth.organizationId },
      { populate: ['domainBinding'] },
    );
    if (certificate === null) throw notFound('Certificate', certificateId, 'certificateId');
    const binding = certificate.domainBinding.getEntity();
    requireInScope(
      auth,
      { projectId: binding.project.id, environmentId: binding.environment.id, resourceId: binding.resource.id },
      `certificate "${certificateId}"`,
    );
    return certificate;
  }

  /** The binding's certificates that are neither deleted nor revoked. */
  const liveOf = (em: EntityManager, bindingId: string) =>
    em.find(
      Certificate,
      { domainBinding: bindingId, deletedAt: null, status: { $nin: ['revoked', 'deleted'] } },
      { orderBy: { createdAt: 'desc' } },
    );

  /** Starts a new managed attempt on `certificate` and publishes the edge (the binding's route gets tls `acme`). */
  async function startManagedAttempt(
    em: EntityManager,
    certificate: Certificate,
    reason: 'issue' | 'renew' | 'replace',
  ): Promise<{ certificateId: string; attemptId: string }> {
    const at = now();
    const attempt = newAttempt(at, reason, 'issuing', managedProvider);
    // An active one keeps being served while Caddy renews it.
    certificate.status = certificate.status === 'active' ? 'renewing' : 'issuing';
    certificate.attempts = [...certificate.attempts, attempt];
    certificate.updatedAt = at;
    await em.flush();
    const serverIds = await publishFor(em, certificate.domainBinding.getEntity());
    log.info({ certificateId: certificate.id, attemptId: attempt.id, reason, serverIds }, 'certificate requested');
    return { certificateId: certificate.id, attemptId: attempt.id };
  }

  return {
    /** `GET /certificates`: newest first, deleted ones left out; deploy tokens see those in their scope. */
    async list(em: EntityManager, auth: Caller, query: { domainBindingId?: string; limit?: number }) {
      const where: FilterQuery<Certificate> = { organization: auth.organizationId, deletedAt: null };
      if (query.domainBindingId) where.domainBinding = query.domainBindingId;
      if (auth.kind === 'deploy-token') {
        // A token sees the certificates of the bindings in its scope (an empty list does not restrict).
        const { projectIds, environmentIds, resourceIds } = auth.scope;
        const scope = {
          ...(projectIds.length > 0 ? { project: { $in: projectIds } } : {}),
          ...(environmentIds.length > 0 ? { environment: { $in: environmentIds } } : {}),
          ...(resourceIds.length > 0 ? { resource: { $in: resourceIds } } : {}),
        };
        if (Object.keys(scope).length > 0) {
          where.domainBinding = { ...(query.domainBindingId ? { id: query.domainBindingId } : {}), ...scope };
        }
      }
      const certificates = await em.find(Certificate, where, {
        orderBy: { createdAt: 'desc', id: 'desc' },
        limit: query.limit ?? 100,
      });
      return { items: certificates.map(certificateView) };
    },

    /** `GET /certificates/{id}`: safe metadata and every attempt (a deleted one too, with status `deleted`). */
    async show(em: EntityManager, auth: Caller, certificateId: string) {
      return certificateView(await load(em, auth, certificateId));
    },

    /**
     * `POST /certificates/import`: validates the chain and key (pem.ts), seals the key, makes the certificate the
     * binding's active one (earlier active ones become `disabled`) and publishes the edge documents.
     */
    async importCertificate(
      em: EntityManager,
      auth: AuthContext,
      input: { domainBindingId: string; certificateChain: string; privateKey: string },
    ) {
      const binding = await loadBinding(em, auth, input.domainBindingId);
      requireTls(binding);
      const at = now();
      const valid = validateImport(input.certificateChain, input.privateKey, binding.domainName, at);
      const superseded = (await liveOf(em, binding.id)).filter((c) => inUse.has(c.status));
      // The same certificate imported again (a client retrying) is the one already active.
      const same = superseded.find((c) => c.source === 'imported' && c.fingerprint === valid.fingerprint);
      const sameAttempt = same ? latestAttempt(same) : undefined;
      if (same && sameAttempt) return { certificateId: same.id, attemptId: sameAttempt.id };
      const attempt = newAttempt(at, superseded.length > 0 ? 'replace' : 'issue', 'issued', importedProvider);
      attempt.issuedAt = at.toISOString();
      attempt.expiresAt = valid.notAfter.toISOString();
      const certificate = em.create(Certificate, {
        id: newId('certificate', at.getTime()),
        organization: binding.organization.id,
        domainBinding: binding.id,
        domainName: binding.domainName,
        source: 'imported',
        status: 'active',
        ...importedProvider,
        issuedAt: valid.notBefore,
        notBefore: valid.notBefore,
        expiresAt: valid.notAfter,
        fingerprint: valid.fingerprint,
        serialNumber: valid.serialNumber,
        issuer: valid.issuer,
        keyAlgorithm: valid.keyAlgorithm,
        subjectAlternativeNames: valid.subjectAlternativeNames,
        chainPem: valid.chainPem,
        sealedPrivateKey: keyRing.seal(valid.keyPem),
        attempts: [attempt],
        expiryWarning: null,
        observedAt: at,
        createdAt: at,
        updatedAt: at,
      });
      for (const old of superseded) {
        old.status = 'disabled';
        old.updatedAt = at;
        if (inFlight(latestAttempt(old))) {
          failLatestAttempt(
            old,
            at,
            'certificate_revoked',
            'superseded',
            'An imported certificate replaced it.',
            false,
          );
        }
      }
      await em.flush();
      await publishFor(em, binding);
      log.info(
        { certificateId: certificate.id, domainBindingId: binding.id, superseded: superseded.map((c) => c.id) },
        'certificate imported',
      );
      return { certificateId: certificate.id, attemptId: attempt.id };
    },

    /**
     * `POST /certificates/issue-or-renew`: a new attempt on the binding's managed certificate (created when it has
     * none). An attempt still waiting is returned as it is. An active imported certificate is replaced: it becomes
     * `disabled` and the edge proxy obtains one by ACME instead.
     */
    async issueOrRenew(em: EntityManager, auth: AuthContext, input: { domainBindingId: string }) {
      const binding = await loadBinding(em, auth, input.domainBindingId);
      requireManagedAllowed(binding);
      const live = await liveOf(em, binding.id);
      const at = now();
      const imported = live.filter((c) => c.source === 'imported' && inUse.has(c.status));
      for (const old of imported) {
        old.status = 'disabled';
        old.updatedAt = at;
      }
      let certificate = live.find((c) => c.source === 'managed');
      const pending = certificate ? latestAttempt(certificate) : undefined;
      if (certificate && imported.length === 0 && inFlight(pending)) {
        return { certificateId: certificate.id, attemptId: pending!.id };
      }
      if (certificate === undefined) {
        certificate = em.create(Certificate, {
          id: newId('certificate', at.getTime()),
          organization: binding.organization.id,
          domainBinding: binding.id,
          domainName: binding.domainName,
          source: 'managed',
          status: 'pending',
          ...managedProvider,
          subjectAlternativeNames: [],
          attempts: [],
          createdAt: at,
          updatedAt: at,
        });
      }
      const reason = imported.length > 0 ? 'replace' : certificate.status === 'active' ? 'renew' : 'issue';
      return startManagedAttempt(em, certificate, reason);
    },

    /** `POST /certificates/{id}/retries`: a new attempt for a managed certificate whose latest attempt failed. */
    async retry(em: EntityManager, auth: AuthContext, certificateId: string) {
      const certificate = await load(em, auth, certificateId);
      const last = latestAttempt(certificate);
      const retriable =
        certificate.source === 'managed' &&
        !['revoked', 'deleted', 'disabled'].includes(certificate.status) &&
        last?.status === 'failed' &&
        last.retriable;
      if (!retriable) {
        throw conflict(
          'certificate_not_retriable',
          `Certificate "${certificateId}" (${certificate.source}, ${certificate.status}, latest attempt ${last?.status ?? 'none'}) cannot be retried.`,
          'certificateId',
        );
      }
      requireManagedAllowed(certificate.domainBinding.getEntity());
      return startManagedAttempt(em, certificate, last.reason === 'renew' ? 'renew' : 'issue');
    },

    /**
     * `POST /certificates/{id}/revoke`: Berth stops using the certificate (the edge proxy stops serving an imported
     * one; a binding whose managed certificate is revoked is served without TLS until a new issue-or-renew). It
     * does not ask the CA to revoke it. The sealed key of an imported one is erased.
     */
    async revoke(em: EntityManager, auth: AuthContext, certificateId: string) {
      const certificate = await load(em, auth, certificateId);
      if (certificate.status === 'deleted') throw notFound('Certificate', certificateId, 'certificateId');
      if (certificate.status !== 'revoked') {
        const at = now();
        if (inFlight(latestAttempt(certificate))) {
          failLatestAttempt(certificate, at, 'certificate_revoked', 'revoked', 'Revoked before it was issued.', false);
        }
        certificate.status = 'revoked';
        certificate.revokedAt = at;
        certificate.updatedAt = at;
        certificate.sealedPrivateKey = null;
        await em.flush();
        await publishFor(em, certificate.domainBinding.getEntity());
        log.info({ certificateId }, 'certificate revoked');
      }
      return { certificateId };
    },

    /** `DELETE /certificates/{id}`: hides a certificate that is not in use; its row and attempts stay for audit. */
    async remove(em: EntityManager, auth: AuthContext, certificateId: string, confirmation: { certificateId: string }) {
      requireConfirmation('certificateId', certificateId, confirmation.certificateId, 'certificate');
      const certificate = await load(em, auth, certificateId);
      if (certificate.status === 'deleted') throw notFound('Certificate', certificateId, 'certificateId');
      if (inUse.has(certificate.status)) {
        throw conflict(
          'certificate_active',
          `Certificate "${certificateId}" is ${certificate.status}: the edge proxy serves it.`,
          'certificateId',
        );
      }
      const at = now();
      if (inFlight(latestAttempt(certificate))) {
        failLatestAttempt(certificate, at, 'certificate_revoked', 'deleted', 'Deleted before it was issued.', false);
      }
      certificate.status = 'deleted';
      certificate.deletedAt = at;
      certificate.updatedAt = at;
      certificate.sealedPrivateKey = null;
      await em.flush();
      await publishFor(em, certificate.domainBinding.getEntity());
      return { certificateId };
    },

    /** The unsealed PEM key of an active imported certificate, for the edge document as it is sent; else null. */
    async privateKeyOf(em: EntityManager, certificateId: string): Promise<string | null> {
      const certificate = await em.findOne(Certificate, { id: certificateId, source: 'imported', status: 'active' });
      if (!certificate?.sealedPrivateKey) return null;
      return keyRing.open(certificate.sealedPrivateKey);
    },
  };
}

/** The certificate service's type. */
export type CertificateService = ReturnType<typeof createCertificateService>;
