import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { ServedCertificate } from '../../shared/edge-command.js';

/** Options of {@link probeServedCertificate}. */
export interface CertificateProbeOptions {
  /** Where Caddy's TLS server listens (the agent asks on loopback, as a client would after DNS). */
  host: string;
  port: number;
  hostname: string;
  /** Bound on the connection and handshake (5 s). */
  timeoutMs?: number;
}

const curveNames: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** e.g. `ECDSA P-256`, `RSA 2048`, `ED25519`. */
function keyAlgorithm(certificate: X509Certificate): string | null {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `RSA ${details.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') {
    const curve = details.namedCurve ?? '?';
    return `ECDSA ${curveNames[curve] ?? curve}`;
  }
  return key.asymmetricKeyType?.toUpperCase() ?? null;
}

/** `CN=…, O=…` from Node's one-attribute-per-line form. */
const distinguishedName = (text: string) => text.split('\n').filter(Boolean).join(', ');

function notServed(hostname: string, error: string): ServedCertificate {
  return {
    hostname,
    served: false,
    error,
    issuer: null,
    subject: null,
    serialNumber: null,
    notBefore: null,
    notAfter: null,
    fingerprint: null,
    subjectAlternativeNames: [],
    keyAlgorithm: null,
  };
}

/** The certificate `raw` (DER) described; `served` when it covers `hostname`. */
export function describeCertificate(hostname: string, raw: Buffer): ServedCertificate {
  const certificate = new X509Certificate(raw);
  const covers = certificate.checkHost(hostname) !== undefined;
  return {
    hostname,
    served: covers,
    error: covers
      ? ''
      : `the certificate served for ${hostname} does not cover it (${certificate.subjectAltName ?? 'no names'})`,
    issuer: distinguishedName(certificate.issuer),
    subject: distinguishedName(certificate.subject),
    serialNumber: certificate.serialNumber,
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: new Date(certificate.validTo).toISOString(),
    fingerprint: certificate.fingerprint256,
    subjectAlternativeNames: (certificate.subjectAltName ?? '').split(', ').filter(Boolean),
    keyAlgorithm: keyAlgorithm(certificate),
  };
}

/**
 * Opens a real TLS connection with SNI `hostname` and reads the certificate served, as a browser would see it. It
 * does not verify the chain (the agent has no business trusting an ACME staging or test CA): `served` means the
 * handshake succeeded and the certificate names the host. Never rejects: a failure is `served: false` with why.
 */
export function probeServedCertificate(options: CertificateProbeOptions): Promise<ServedCertificate> {
  const { hostname } = options;
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: options.host,
      port: options.port,
      servername: hostname,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const finish = (result: ServedCertificate) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(options.timeoutMs ?? 5000, () =>
      finish(notServed(hostname, `no TLS handshake for ${hostname} on ${options.host}:${options.port} in time`)),
    );
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      if (!peer?.raw) return finish(notServed(hostname, `no certificate was served for ${hostname}`));
      try {
        finish(describeCertificate(hostname, peer.raw));
      } catch (error) {
        finish(
          notServed(hostname, `the certificate served for ${hostname} is unreadable: ${(error as Error).message}`),
        );
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish(notServed(hostname, `TLS handshake for ${hostname} failed: ${error.message}`)),
    );
  });
}
