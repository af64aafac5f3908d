import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { generateKeyPair } from '../../shared/pki.js';

// @peculiar/x509 signs through WebCrypto (shared/pki.ts installs Node's provider on import, as here).
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 86_400_000;

/** A test certificate authority (root or intermediate): its certificate, keys and PEM key. */
export interface TestCa {
  certificatePem: string;
  privateKeyPem: string;
  keys: CryptoKeyPair;
  /** The subject, as `CN=…`. */
  name: string;
}

/** A leaf certificate with its key, and the chain to import (leaf first, then the issuing CAs given). */
export interface TestLeaf {
  certificatePem: string;
  privateKeyPem: string;
  chainPem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** Validity of a generated certificate; defaults: from a minute ago for 90 days. */
export interface ValidityOptions {
  notBefore?: Date;
  notAfter?: Date;
  /** The clock "now" the defaults count from (real time unless given). */
  now?: Date;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive in DER
  return bytes.toString('hex');
}

function validity(options: ValidityOptions, days: number): { notBefore: Date; notAfter: Date } {
  const now = options.now ?? new Date();
  return {
    notBefore: options.notBefore ?? new Date(now.getTime() - 60_000),
    notAfter: options.notAfter ?? new Date(now.getTime() + days * day),
  };
}

async function signingKey(pem: string) {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(pem)[0]!, ecdsa, false, ['sign']);
}

const caExtensions = async (keys: CryptoKeyPair) => [
  new x509.BasicConstraintsExtension(true, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
];

/** A self-signed root CA named `CN=<commonName>` (ECDSA P-256), valid for ten years unless told otherwise. */
export async function createTestCa(commonName = 'Berth Test Root', options: ValidityOptions = {}): Promise<TestCa> {
  const { keys, privateKeyPem } = await generateKeyPair();
  const name = `CN=${commonName}`;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    ...validity(options, 3650),
    keys,
    signingAlgorithm: ecdsa,
    extensions: await caExtensions(keys),
  });
  return { certificatePem: certificate.toString('pem'), privateKeyPem, keys, name };
}

/** An intermediate CA issued by `issuer`. */
export async function createIntermediateCa(
  issuer: TestCa,
  commonName = 'Berth Test Intermediate',
  options: ValidityOptions = {},
): Promise<TestCa> {
  const { keys, privateKeyPem } = await generateKeyPair();
  const name = `CN=${commonName}`;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: issuer.name,
    ...validity(options, 1825),
    signingAlgorithm: ecdsa,
    publicKey: keys.publicKey,
    signingKey: await signingKey(issuer.privateKeyPem),
    extensions: await caExtensions(keys),
  });
  return { certificatePem: certificate.toString('pem'), privateKeyPem, keys, name };
}

/**
 * A server certificate for `names` (subjectAltName DNS entries; the first is also the CN) issued by `issuer`, with
 * a new ECDSA P-256 key. `chainPem` is the leaf followed by `chain` (pass `[intermediate, root]` or `[root]`).
 * No authority key identifier is written, so a CA of the same name but another key passes the name check and
 * fails only the signature check (the "signature invalid" variant).
 */
export async function issueTestLeaf(
  issuer: TestCa,
  names: string[],
  options: ValidityOptions & { chain?: TestCa[] } = {},
): Promise<TestLeaf> {
  const { keys, privateKeyPem } = await generateKeyPair();
  const serialNumber = serial();
  const window = validity(options, 90);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: `CN=${names[0] ?? 'berth-test'}`,
    issuer: issuer.name,
    ...window,
    signingAlgorithm: ecdsa,
    publicKey: keys.publicKey,
    signingKey: await signingKey(issuer.privateKeyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  const certificatePem = certificate.toString('pem');
  const chain = options.chain ?? [issuer];
  return {
    certificatePem,
    privateKeyPem,
    chainPem: [certificatePem, ...chain.map((ca) => ca.certificatePem)].join('\n'),
    serialNumber,
    ...window,
  };
}

/** A leaf for `names` that expired yesterday (issued 91 days ago). */
export function issueExpiredLeaf(issuer: TestCa, names: string[]): Promise<TestLeaf> {
  const now = Date.now();
  return issueTestLeaf(issuer, names, { notBefore: new Date(now - 91 * day), notAfter: new Date(now - day) });
}

/** A leaf for `names` valid only from tomorrow. */
export function issueNotYetValidLeaf(issuer: TestCa, names: string[]): Promise<TestLeaf> {
  const now = Date.now();
  return issueTestLeaf(issuer, names, { notBefore: new Date(now + day), notAfter: new Date(now + 91 * day) });
}

/** A private key that belongs to no certificate made here (PKCS#8 PEM). */
export async function unrelatedPrivateKey(): Promise<string> {
  return (await generateKeyPair()).privateKeyPem;
}

/** `privateKeyPem` encrypted with a passphrase (`-----BEGIN ENCRYPTED PRIVATE KEY-----`). */
export function encryptPrivateKey(privateKeyPem: string, passphrase = 'correct horse'): string {
  return createPrivateKey(privateKeyPem)
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
    .toString();
}
