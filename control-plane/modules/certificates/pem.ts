import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { AppError, type DomainErrorCode, domainErrorCodes } from '../../../shared/errors.js';

/** What an imported chain and key turn into once they pass every check. */
export interface ValidatedImport {
  /** The chain as it will be served: each certificate in canonical PEM, leaf first. */
  chainPem: string;
  /** The key as PKCS#8 PEM (sealed before it is stored). */
  keyPem: string;
  fingerprint: string;
  serialNumber: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  subjectAlternativeNames: string[];
  keyAlgorithm: string;
}

const certificateBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function refuse(reason: DomainErrorCode, field: string, message: string, hint?: string): AppError {
  return new AppError('validation_failed', message, {
    field,
    hint: hint ?? domainErrorCodes[reason],
    details: { reason },
  });
}

let knownRoots: X509Certificate[] | undefined;
/** Node's bundled Mozilla roots, parsed once: a chain may end at an intermediate one of them issued. */
function roots(): X509Certificate[] {
  knownRoots ??= rootCertificates.flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
  return knownRoots;
}

function parseChain(chain: string): X509Certificate[] {
  const blocks = [...chain.matchAll(certificateBlock)];
  if (blocks.length === 0) {
    throw refuse(
      'certificate_chain_invalid',
      'certificateChain',
      'certificateChain holds no PEM certificate.',
      'Send the PEM text of the leaf certificate followed by its intermediates ("-----BEGIN CERTIFICATE-----" …).',
    );
  }
  return blocks.map((block, index) => {
    if (block[1] !== 'CERTIFICATE') {
      throw refuse(
        'certificate_chain_invalid',
        'certificateChain',
        `Block ${index + 1} of certificateChain is a "${block[1]}", not a CERTIFICATE.`,
        'Put only certificates in certificateChain and the private key in privateKey.',
      );
    }
    try {
      return new X509Certificate(block[0]);
    } catch {
      throw refuse(
        'certificate_chain_invalid',
        'certificateChain',
        `Certificate ${index + 1} of certificateChain is not a valid X.509 certificate.`,
      );
    }
  });
}

function parseKey(pem: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw refuse('private_key_encrypted', 'privateKey', 'privateKey is encrypted with a passphrase.');
  }
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    if (key.type !== 'private') throw new Error('not a private key');
    return key;
  } catch {
    throw refuse(
      'private_key_invalid',
      'privateKey',
      'privateKey is not a PEM private key.',
      'Send the unencrypted PEM key ("-----BEGIN PRIVATE KEY-----", "RSA PRIVATE KEY" or "EC PRIVATE KEY").',
    );
  }
}

function keyAlgorithmOf(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[details.namedCurve ?? ''];
    return `ECDSA ${curve ?? details.namedCurve ?? ''}`.trim();
  }
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return `RSA ${details.modulusLength ?? ''}`.trim();
  }
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}

/** The DNS names of the certificate's subjectAltName (`DNS:a, DNS:b, IP Address:…`). */
export function dnsNamesOf(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}

/** Checks that each certificate is issued (and signed) by the next, a CA, and that the last one ends at a root. */
function checkChain(certificates: X509Certificate[]): void {
  for (let i = 0; i < certificates.length - 1; i++) {
    const [child, parent] = [certificates[i]!, certificates[i + 1]!];
    if (!child.checkIssued(parent) || !parent.ca) {
      throw refuse(
        'certificate_chain_incomplete',
        'certificateChain',
        `Certificate ${i + 1} of certificateChain is not issued by certificate ${i + 2}.`,
        'Order the chain leaf first, each certificate followed by the one that issued it.',
      );
    }
    if (!child.verify(parent.publicKey)) {
      throw refuse(
        'certificate_signature_invalid',
        'certificateChain',
        `The signature of certificate ${i + 1} does not verify with the key of certificate ${i + 2}.`,
      );
    }
  }
  const last = certificates[certificates.length - 1]!;
  const selfSigned = last.checkIssued(last) && last.verify(last.publicKey);
  if (selfSigned) return;
  const root = roots().find((r) => last.checkIssued(r) && last.verify(r.publicKey));
  if (root === undefined) {
    throw refuse(
      'certificate_chain_incomplete',
      'certificateChain',
      `The last certificate of certificateChain is issued by "${last.issuer.replaceAll('\n', ', ')}", which is not in the chain.`,
      'Append the intermediate certificates (and the root of a private CA) after the leaf.',
    );
  }
}

/**
 * Validates an import: the chain parses, the key is readable and belongs to the leaf, each certificate is issued
 * (and signed) by the next and the chain ends at a root, nothing is expired, and the leaf covers `domainName`.
 * Each failure is a `VALIDATION_ERROR` with the field and a distinct `details.reason` (docs/domains.md).
 */
export function validateImport(chain: string, privateKey: string, domainName: string, now: Date): ValidatedImport {
  const certificates = parseChain(chain);
  const key = parseKey(privateKey);
  const leaf = certificates[0]!;
  if (!leaf.checkPrivateKey(key)) {
    throw refuse(
      'certificate_key_mismatch',
      'privateKey',
      'privateKey does not belong to the leaf certificate (the first of certificateChain).',
      'Send the key the certificate was issued for, and put the leaf certificate first.',
    );
  }
  checkChain(certificates);
  certificates.forEach((certificate, index) => {
    if (new Date(certificate.validTo) <= now) {
      throw refuse(
        'certificate_expired',
        'certificateChain',
        `Certificate ${index + 1} of certificateChain expired at ${new Date(certificate.validTo).toISOString()}.`,
        'Import a renewed certificate.',
      );
    }
    if (new Date(certificate.validFrom) > now) {
      throw refuse(
        'certificate_not_yet_valid',
        'certificateChain',
        `Certificate ${index + 1} of certificateChain is valid only from ${new Date(certificate.validFrom).toISOString()}.`,
        'Import it once it is valid, or check the clock of the machine that issued it.',
      );
    }
  });
  // The subjectAltName only (as browsers), and a wildcard stands for exactly one whole label.
  const covers = leaf.checkHost(domainName, { subject: 'never', wildcards: true, partialWildcards: false });
  if (covers === undefined) {
    const names = dnsNamesOf(leaf);
    throw refuse(
      'certificate_domain_mismatch',
      'certificateChain',
      `The leaf certificate does not cover "${domainName}" (it names ${names.length > 0 ? names.join(', ') : 'no DNS name'}).`,
      "Import a certificate whose subjectAltName includes the binding's domain (or a matching wildcard).",
    );
  }
  return {
    chainPem: certificates.map((c) => c.toString()).join(''),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint: leaf.fingerprint256,
    serialNumber: leaf.serialNumber,
    issuer: leaf.issuer.replaceAll('\n', ', '),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    subjectAlternativeNames: dnsNamesOf(leaf),
    keyAlgorithm: keyAlgorithmOf(leaf),
  };
}
