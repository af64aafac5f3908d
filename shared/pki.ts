import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 signs through WebCrypto; Node's implementation is the standard one.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** The name every gateway certificate carries; agents verify it (the CA is pinned, so no DNS name is needed). */
export const gatewayServerName = 'berth-control-plane';

/** A key pair with its private key as PKCS#8 PEM. */
export interface KeyPairPem {
  keys: CryptoKeyPair;
  privateKeyPem: string;
}

/** A certificate authority: its certificate and private key, both PEM. */
export interface CertificateAuthority {
  certificatePem: string;
  privateKeyPem: string;
}

/** A newly issued certificate. */
export interface IssuedCertificate {
  certificatePem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** A new ECDSA P-256 key pair. */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(pem)[0]!, algorithm, false, ['sign']);
}

function serial(): string {
  // Positive 16-byte serial: the top bit cleared so DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** A PKCS#10 request for a client certificate of `serverId`, signed by `keys`. */
export async function createCertificateRequest(keys: CryptoKeyPair, serverId: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${serverId}`,
    keys,
    signingAlgorithm: algorithm,
  });
  return csr.toString('pem');
}

/** A new self-signed CA valid for `days`. */
export async function createCertificateAuthority(commonName: string, days: number): Promise<CertificateAuthority> {
  const { keys, privateKeyPem } = await generateKeyPair();
  const now = new Date();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + days * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem'), privateKeyPem };
}

async function issue(
  ca: CertificateAuthority,
  publicKey: x509.PublicKey | CryptoKey,
  subject: string,
  days: number,
  extensions: x509.Extension[],
  now: Date,
): Promise<IssuedCertificate> {
  const caCertificate = new x509.X509Certificate(ca.certificatePem);
  const notBefore = new Date(now.getTime() - 60_000); // tolerate a little clock skew
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const serialNumber = serial();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject,
    issuer: caCertificate.subject,
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    publicKey,
    signingKey: await importPrivateKey(ca.privateKeyPem),
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), ...extensions],
  });
  return { certificatePem: certificate.toString('pem'), serialNumber, notBefore, notAfter };
}

/**
 * Verifies `csrPem` (its signature proves possession of the key) and issues a client certificate for `serverId`,
 * whatever name the request asked for: the control plane, not the agent, decides the identity.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  csrPem: string,
  serverId: string,
  days: number,
  now: Date = new Date(),
): Promise<IssuedCertificate> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new Error('the certificate request is not a PEM PKCS#10 request');
  }
  if (!(await csr.verify())) throw new Error('the certificate request is not signed by its own key');
  return issue(
    ca,
    csr.publicKey,
    `CN=${serverId}`,
    days,
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:berth:server:${serverId}` }]),
    ],
    now,
  );
}

/** A server certificate for the agent gateway, named {@link gatewayServerName} plus `extraNames`. */
export async function issueGatewayCertificate(
  ca: CertificateAuthority,
  days: number,
  extraNames: string[] = [],
): Promise<IssuedCertificate & { privateKeyPem: string }> {
  const { keys, privateKeyPem } = await generateKeyPair();
  const names = [gatewayServerName, 'localhost', ...extraNames].map((value) =>
    /^[\d.]+$|:/.test(value) ? { type: 'ip' as const, value } : { type: 'dns' as const, value },
  );
  const issued = await issue(
    ca,
    keys.publicKey,
    `CN=${gatewayServerName}`,
    days,
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...names, { type: 'ip', value: '127.0.0.1' }]),
    ],
    new Date(),
  );
  return { ...issued, privateKeyPem };
}

/** SHA-256 of a certificate's DER, lower-case hex: what an install command pins. */
export function certificateFingerprint(certificatePem: string): string {
  const der = x509.PemConverter.decode(certificatePem)[0]!;
  return createHash('sha256').update(Buffer.from(der)).digest('hex');
}
