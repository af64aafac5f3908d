import { createPrivateKey, X509Certificate } from 'node:crypto';
import os from 'node:os';
import { certificateFingerprint, createCertificateRequest, gatewayServerName, generateKeyPair } from '../shared/pki.js';
import { type Clock, systemClock } from '../shared/time.js';
import { berthVersion } from '../shared/version.js';
import { type Enrollment, readEnrollment, statePaths, writeEnrollment } from './state-dir.js';

/** What `berth agent enroll` was given. */
export interface EnrollOptions {
  /** The control plane's base URL, e.g. `https://berth.example.com`. */
  url: string;
  /** The one-time enrollment token. */
  token: string;
  /** The server's name in Berth; the control plane picks one when omitted. */
  name?: string;
  /** The expected SHA-256 of the control plane CA's DER (hex, colons allowed), from the install command. */
  caSha256?: string;
  /** Replace an existing enrollment. */
  force?: boolean;
  stateDir: string;
}

/** Collaborators of {@link enroll}, replaceable in tests. */
export interface EnrollDeps {
  fetch?: typeof fetch;
  hostname?: () => string;
  clock?: Clock;
  /** Bound on the HTTP request (30 s). */
  timeoutMs?: number;
}

/** A failed enrollment, with what the operator can do about it. Nothing was saved when this is thrown. */
export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  constructor(
    message: string,
    readonly hint?: string,
    /** The control plane's error code, when it answered with an error envelope. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The result of a successful enrollment. */
export interface EnrollResult extends Enrollment {
  notAfter: string;
  /** SHA-256 of the pinned CA, so an operator who did not pass `--ca-sha256` can still compare it. */
  caSha256: string;
}

interface EnrollmentResponse {
  serverId: string;
  certificatePem: string;
  caCertificatePem: string;
  notAfter: string;
  grpcUrl: string;
  grpcServerName?: string;
}

function normalizeFingerprint(raw: string): string {
  const hex = raw.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new EnrollmentError('--ca-sha256 must be a SHA-256 fingerprint: 64 hex digits (colons allowed)');
  }
  return hex;
}

function parseResponse(body: unknown): EnrollmentResponse {
  const record = (body ?? {}) as Record<string, unknown>;
  for (const key of ['serverId', 'certificatePem', 'caCertificatePem', 'grpcUrl'] as const) {
    if (typeof record[key] !== 'string' || record[key] === '') {
      throw new EnrollmentError(
        `the control plane's enrollment answer has no "${key}"`,
        'is the URL a Berth control plane?',
      );
    }
  }
  if (!/^[^\s/]+:\d{1,5}$/.test(record['grpcUrl'] as string)) {
    throw new EnrollmentError(
      `the control plane sent an agent gateway address that is not host:port: ${record['grpcUrl']}`,
    );
  }
  return record as unknown as EnrollmentResponse;
}

/**
 * Enrolls this server: makes a key pair locally (the private key never leaves the machine), sends a CSR with the
 * one-time token to `POST <url>/agent/enrollments`, checks the answer (the CA against `caSha256` when given, and
 * that the certificate fits the key and the CA) and only then writes the state folder. Refuses to replace an
 * existing enrollment unless `force`. Throws {@link EnrollmentError} for every expected failure.
 */
export async function enroll(options: EnrollOptions, deps: EnrollDeps = {}): Promise<EnrollResult> {
  const paths = statePaths(options.stateDir);
  const expectedCa = options.caSha256 === undefined ? undefined : normalizeFingerprint(options.caSha256);
  let baseUrl: URL;
  try {
    baseUrl = new URL(options.url);
    if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new EnrollmentError(`--url must be the control plane's http:// or https:// URL (got ${options.url})`);
  }
  if (!options.force) {
    const existing = await readEnrollment(paths).catch(() => undefined);
    if (existing) {
      throw new EnrollmentError(
        `this server is already enrolled as ${existing.serverId} with ${existing.controlPlaneUrl}`,
        'pass --force to replace that enrollment (the old identity stops working here)',
      );
    }
  }

  // Check the pin before spending the one-time token, so a wrong pin (or an impostor) leaves the token usable.
  if (expectedCa !== undefined) await checkPinnedCa(baseUrl, expectedCa, deps);

  const { keys, privateKeyPem } = await generateKeyPair();
  // The control plane names the certificate after the server id it assigns, whatever the request says.
  const csrPem = await createCertificateRequest(keys, 'berth-agent-enrollment');
  const endpoint = new URL('agent/enrollments', baseUrl.href.endsWith('/') ? baseUrl : `${baseUrl.href}/`);
  const requestBody = {
    token: options.token,
    csrPem,
    agentVersion: berthVersion,
    hostname: (deps.hostname ?? os.hostname)(),
    ...(options.name === undefined ? {} : { name: options.name }),
  };
  let response: Response;
  try {
    response = await (deps.fetch ?? fetch)(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(requestBody),
      signal: AbortSignal.timeout(deps.timeoutMs ?? 30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new EnrollmentError(`could not reach the control plane at ${endpoint.href}: ${cause}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status !== 201) {
    const envelope = (body ?? {}) as { code?: string; message?: string; hint?: string };
    throw new EnrollmentError(
      envelope.message ?? `the control plane answered HTTP ${response.status}`,
      envelope.hint,
      envelope.code,
    );
  }

  const answer = parseResponse(body);
  const caSha256 = certificateFingerprint(answer.caCertificatePem);
  if (expectedCa !== undefined && caSha256 !== expectedCa) {
    throw new EnrollmentError(
      `the control plane's CA fingerprint is ${caSha256}, not the expected ${expectedCa}; nothing was saved`,
      'check the URL and the install command; someone may be intercepting the connection',
    );
  }
  const certificate = new X509Certificate(answer.certificatePem);
  if (!certificate.checkPrivateKey(createPrivateKey(privateKeyPem))) {
    throw new EnrollmentError('the issued certificate does not match the key this agent generated; nothing was saved');
  }
  if (!certificate.verify(new X509Certificate(answer.caCertificatePem).publicKey)) {
    throw new EnrollmentError('the issued certificate is not signed by the CA sent with it; nothing was saved');
  }

  const enrollment: Enrollment = {
    controlPlaneUrl: baseUrl.href.replace(/\/+$/, ''),
    grpcUrl: answer.grpcUrl,
    grpcServerName: answer.grpcServerName || gatewayServerName,
    serverId: answer.serverId,
    enrolledAt: (deps.clock ?? systemClock)().toISOString(),
  };
  await writeEnrollment(paths, enrollment, {
    keyPem: privateKeyPem,
    certPem: answer.certificatePem,
    caPem: answer.caCertificatePem,
  });
  return { ...enrollment, notAfter: answer.notAfter ?? new Date(certificate.validTo).toISOString(), caSha256 };
}

async function checkPinnedCa(baseUrl: URL, expected: string, deps: EnrollDeps): Promise<void> {
  const endpoint = new URL('agent/ca', baseUrl.href.endsWith('/') ? baseUrl : `${baseUrl.href}/`);
  let pem: unknown;
  try {
    const response = await (deps.fetch ?? fetch)(endpoint, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(deps.timeoutMs ?? 30_000),
    });
    pem = ((await response.json()) as { caCertificatePem?: unknown }).caCertificatePem;
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new EnrollmentError(`could not read the control plane's CA at ${endpoint.href}: ${cause}`);
  }
  const actual = typeof pem === 'string' ? certificateFingerprint(pem) : 'unreadable';
  if (actual !== expected) {
    throw new EnrollmentError(
      `the control plane's CA fingerprint is ${actual}, not the expected ${expected}; the token was not used`,
      'check the URL and the install command; someone may be intercepting the connection',
    );
  }
}
