import type { EntityManager } from '@mikro-orm/postgresql';
import type { ServedCertificate } from '../../../shared/edge-command.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import type { EdgeInspector } from '../edge/ports.js';
import {
  failLatestAttempt,
  latestAttempt,
  managedProvider,
  newAttempt,
  recordServed,
  updateLatestAttempt,
} from './attempts.js';
import type { BindingServers } from './binding-servers.js';
import { Certificate } from './entity.js';

/** Options of {@link createCertificateObserver}. */
export interface CertificateObserverOptions {
  now: Clock;
  log: Logger;
  inspector: EdgeInspector;
  serversOf: BindingServers;
  /** How long a managed attempt may go unserved before it fails (10 minutes). */
  issueDeadlineMs?: number;
}

/** Which certificates one observation looks at. */
export interface ObserveScope {
  /** Only certificates served on this server. */
  serverId?: string;
  /** Also the active (and expired) managed ones, to notice Caddy's own renewals. */
  includeActive?: boolean;
}

/** What one observation found, for logs and tests. */
export interface ObservationSummary {
  issued: string[];
  renewed: string[];
  failed: string[];
}

const defaultIssueDeadlineMs = 10 * 60_000;

/**
 * Reads back what the edge proxy serves for managed certificates and records it: Caddy obtains and renews them on
 * its own, so Berth never claims a certificate it has not seen served on the TLS port (`edge.inspect`). An attempt
 * is issued once a handshake for the domain returns a certificate that covers it (and is not an imported one of the
 * binding); it fails, retriable, once its deadline passes without that. A served certificate with a new serial on an
 * active one is a renewal Caddy made, recorded as an issued `renew` attempt.
 */
export function createCertificateObserver(options: CertificateObserverOptions) {
  const { now, log, inspector, serversOf } = options;
  const issueDeadlineMs = options.issueDeadlineMs ?? defaultIssueDeadlineMs;

  /** Certificates the binding itself imported are never mistaken for the managed one (served until the switch). */
  async function importedFingerprints(em: EntityManager, bindingIds: string[]): Promise<Set<string>> {
    // A fork: partially loaded rows must not share the observed certificates' identity map.
    const imported = await em
      .fork()
      .find(
        Certificate,
        { domainBinding: { $in: bindingIds }, source: 'imported', fingerprint: { $ne: null } },
        { fields: ['fingerprint'] },
      );
    return new Set(imported.map((c) => c.fingerprint as string));
  }

  function onServed(certificate: Certificate, served: ServedCertificate, at: Date, summary: ObservationSummary): void {
    const waiting = certificate.status === 'issuing' || certificate.status === 'renewing';
    const renewedByCaddy = !waiting && served.serialNumber !== certificate.serialNumber;
    if (waiting) {
      recordServed(certificate, served, at);
      updateLatestAttempt(certificate, {
        status: 'issued',
        issuedAt: at.toISOString(),
        expiresAt: certificate.expiresAt?.toISOString() ?? null,
      });
      certificate.status = 'active';
      certificate.expiryWarning = null;
      summary.issued.push(certificate.id);
      return;
    }
    if (renewedByCaddy) {
      recordServed(certificate, served, at);
      const attempt = newAttempt(at, 'renew', 'issued', managedProvider);
      attempt.issuedAt = at.toISOString();
      attempt.expiresAt = certificate.expiresAt?.toISOString() ?? null;
      certificate.attempts = [...certificate.attempts, attempt];
      certificate.status = 'active';
      certificate.expiryWarning = null;
      summary.renewed.push(certificate.id);
      return;
    }
    certificate.observedAt = at;
  }

  function onNotServed(certificate: Certificate, why: string, at: Date, summary: ObservationSummary): void {
    const attempt = latestAttempt(certificate);
    if (certificate.status !== 'issuing' && certificate.status !== 'renewing') return;
    if (!attempt || at.getTime() - Date.parse(attempt.requestedAt) < issueDeadlineMs) return;
    failLatestAttempt(
      certificate,
      at,
      'certificate_not_served',
      'issuance',
      `No certificate for ${certificate.domainName} was served within ${Math.round(issueDeadlineMs / 1000)} s: ${why}`,
      true,
    );
    // A failed renewal leaves the previous certificate served until it expires.
    const stillValid =
      certificate.expiresAt !== null && certificate.expiresAt !== undefined && certificate.expiresAt > at;
    certificate.status = certificate.status === 'renewing' && stillValid ? 'active' : 'failed';
    certificate.updatedAt = at;
    summary.failed.push(certificate.id);
  }

  /** One observation pass over the certificates `scope` names; records what it saw in `em`. */
  async function observe(em: EntityManager, scope: ObserveScope = {}): Promise<ObservationSummary> {
    const summary: ObservationSummary = { issued: [], renewed: [], failed: [] };
    const statuses: Certificate['status'][] = scope.includeActive
      ? ['issuing', 'renewing', 'active', 'expired']
      : ['issuing', 'renewing'];
    const certificates = await em.find(
      Certificate,
      { source: 'managed', deletedAt: null, status: { $in: statuses } },
      { populate: ['domainBinding'] },
    );
    if (certificates.length === 0) return summary;
    const imported = await importedFingerprints(
      em,
      certificates.map((c) => c.domainBinding.id),
    );
    const serversByCertificate = new Map<string, string[]>();
    for (const certificate of certificates) {
      const servers = await serversOf(em, certificate.domainBinding.getEntity());
      if (scope.serverId === undefined || servers.includes(scope.serverId)) {
        serversByCertificate.set(certificate.id, servers);
      }
    }
    const hostsByServer = new Map<string, Set<string>>();
    for (const certificate of certificates) {
      for (const serverId of serversByCertificate.get(certificate.id) ?? []) {
        if (!hostsByServer.has(serverId)) hostsByServer.set(serverId, new Set());
        hostsByServer.get(serverId)!.add(certificate.domainName);
      }
    }
    const seen = new Map<string, Map<string, ServedCertificate>>();
    const errors = new Map<string, string>();
    for (const [serverId, hosts] of hostsByServer) {
      const answer = await inspector.inspect(serverId, { tlsHostnames: [...hosts].sort() });
      if (!answer.ok) {
        errors.set(serverId, `server ${serverId}: ${answer.message}`);
        continue;
      }
      if (!answer.result.reachable) errors.set(serverId, `server ${serverId}: ${answer.result.error}`);
      seen.set(serverId, new Map(answer.result.certificates.map((c) => [c.hostname, c])));
    }
    const at = now();
    for (const certificate of certificates) {
      const servers = serversByCertificate.get(certificate.id);
      if (servers === undefined) continue;
      const answers = servers.flatMap((serverId) => {
        const served = seen.get(serverId)?.get(certificate.domainName);
        return served ? [served] : [];
      });
      const served = answers.find((s) => s.served && !(s.fingerprint && imported.has(s.fingerprint)));
      if (served) {
        onServed(certificate, served, at, summary);
        continue;
      }
      const why =
        answers.find((s) => s.error)?.error ??
        servers.map((s) => errors.get(s)).find(Boolean) ??
        (servers.length === 0 ? "the binding's resource runs on no server" : 'no certificate was served');
      onNotServed(certificate, why, at, summary);
    }
    await em.flush();
    if (summary.issued.length + summary.renewed.length + summary.failed.length > 0) {
      log.info({ ...summary }, 'certificates observed');
    }
    return summary;
  }

  return { observe };
}

/** The observer's type. */
export type CertificateObserver = ReturnType<typeof createCertificateObserver>;
