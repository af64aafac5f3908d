import { X509Certificate } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type CertificateIssued,
  CertificateIssuedSchema,
  type CertificateRequest,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import { type CertificateAuthority, issueClientCertificate } from '../../shared/pki.js';
import { Server } from '../modules/servers/entity.js';

/** What {@link renewCertificate} needs. */
export interface RenewalOptions {
  ca: CertificateAuthority;
  agentCertificateDays: number;
  now: Date;
  log: Logger;
}

// A PEM CSR for a P-256 key is well under 1 KiB; anything far larger is not one.
const maxCsrLength = 16 * 1024;

/**
 * Answers a renewal request on an authenticated stream: a new client certificate for the stream's server (the
 * CSR's own subject is ignored), recorded on the server row. A bad CSR gets an answer with `error` set, and the
 * stream stays up; the old certificate keeps working until it expires.
 */
export async function renewCertificate(
  em: EntityManager,
  serverId: string,
  request: CertificateRequest,
  { ca, agentCertificateDays, now, log }: RenewalOptions,
): Promise<CertificateIssued> {
  if (request.csrPem.length > maxCsrLength) {
    return create(CertificateIssuedSchema, { error: 'the certificate request is too large to be a PEM CSR' });
  }
  let issued: Awaited<ReturnType<typeof issueClientCertificate>>;
  try {
    issued = await issueClientCertificate(ca, request.csrPem, serverId, agentCertificateDays, now);
  } catch (error) {
    const message = error instanceof Error ? error.message : 'the certificate request was refused';
    log.warn({ reason: message }, 'refused a certificate renewal request');
    return create(CertificateIssuedSchema, { error: message });
  }
  // The certificate holds whole seconds; report the instant it really carries.
  const notAfter = new Date(new X509Certificate(issued.certificatePem).validTo);
  await em.nativeUpdate(
    Server,
    { id: serverId },
    { certificateSerial: issued.serialNumber, certificateNotAfter: notAfter },
  );
  log.info({ serial: issued.serialNumber, notAfter: notAfter.toISOString() }, 'renewed the agent certificate');
  return create(CertificateIssuedSchema, {
    certificatePem: issued.certificatePem,
    notAfter: timestampFromDate(notAfter),
  });
}
