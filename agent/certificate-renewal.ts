import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { create } from '@bufbuild/protobuf';
import { type CertificateIssued, CertificateRequestSchema } from '../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../shared/logger.js';
import { createCertificateRequest, generateKeyPair } from '../shared/pki.js';
import type { Clock } from '../shared/time.js';
import type { SendPayload } from './command-runner.js';
import { type RotationPaths, type StatePaths, saveRenewedCredentials } from './state-dir.js';

/**
 * Whether a certificate valid from `notBefore` to `notAfter` should be renewed at `now`: when less than a third
 * of its lifetime is left (an expired certificate included). A third leaves room for several hourly attempts,
 * and for the link to be down for a while, before the agent locks itself out.
 */
export function needsRenewal(now: Date, notBefore: Date, notAfter: Date): boolean {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return notAfter.getTime() - now.getTime() < lifetime / 3;
}

/** Options of {@link createCertificateRenewal}. */
export interface CertificateRenewalOptions {
  paths: RotationPaths & Pick<StatePaths, 'caPem'>;
  serverId: string;
  send: SendPayload;
  clock: Clock;
  log: Logger;
}

/** Client-certificate renewal over the link; see {@link createCertificateRenewal}. */
export interface CertificateRenewal {
  /**
   * Sends a CertificateRequest when the certificate is in its last third and no request is outstanding on
   * this session. Call it right after connecting (with `newSession`) and hourly.
   */
  check(newSession?: boolean): Promise<void>;
  /** Installs the certificate a CertificateIssued carries, if it matches the outstanding request. */
  onIssued(message: CertificateIssued): Promise<void>;
}

/**
 * Renews the agent's client certificate before it expires. A fresh key pair is made for every request, and the
 * private key stays in memory until the matching certificate arrives; then key and certificate are saved
 * atomically (0600) and used from the next connection, the current stream keeps the identity it opened with.
 */
export function createCertificateRenewal(options: CertificateRenewalOptions): CertificateRenewal {
  let pending: { privateKeyPem: string } | undefined;

  return {
    async check(newSession = false) {
      // A request sent on a stream that broke is never answered; a new session may ask again.
      if (newSession) pending = undefined;
      if (pending) return;
      const certificate = new X509Certificate(await readFile(options.paths.certPem, 'utf8'));
      const notBefore = new Date(certificate.validFrom);
      const notAfter = new Date(certificate.validTo);
      if (!needsRenewal(options.clock(), notBefore, notAfter)) return;
      const { keys, privateKeyPem } = await generateKeyPair();
      const csrPem = await createCertificateRequest(keys, options.serverId);
      if (!options.send({ case: 'certificateRequest', value: create(CertificateRequestSchema, { csrPem }) })) return;
      pending = { privateKeyPem };
      options.log.info({ notAfter: notAfter.toISOString() }, 'client certificate in its last third; renewal requested');
    },

    async onIssued(message) {
      const request = pending;
      pending = undefined;
      if (!request) {
        options.log.warn('ignoring a CertificateIssued that answers no outstanding request');
        return;
      }
      if (message.error || !message.certificatePem) {
        options.log.warn({ error: message.error }, 'the control plane refused to renew the certificate; will retry');
        return;
      }
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(message.certificatePem);
        const ca = new X509Certificate(await readFile(options.paths.caPem, 'utf8'));
        // Never install a certificate the next connection could not use: it must fit the key and the pinned CA.
        if (!certificate.checkPrivateKey(createPrivateKey(request.privateKeyPem))) {
          throw new Error('it does not match the requested key');
        }
        if (!certificate.verify(ca.publicKey)) throw new Error('it is not signed by the pinned CA');
      } catch (error) {
        options.log.error({ err: error }, 'rejected a renewed certificate; will retry');
        return;
      }
      await saveRenewedCredentials(options.paths, request.privateKeyPem, message.certificatePem);
      options.log.info(
        { notAfter: new Date(certificate.validTo).toISOString() },
        'client certificate renewed; used from the next connection',
      );
    },
  };
}
