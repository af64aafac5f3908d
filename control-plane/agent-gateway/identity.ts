import type { PeerCertificate } from 'node:tls';
import type { ErrorKind } from '../../shared/errors.js';
import type { Server } from '../modules/servers/entity.js';

/**
 * How far before its issue time a Berth certificate's notBefore lies (`shared/pki.ts` backdates by this much to
 * tolerate clock skew). The issue time is therefore notBefore + this; the one place the gateway knows it.
 */
export const certificateBackdateMs = 60_000;

/** Who is on the other end of a stream, as its verified client certificate says. */
export interface PeerIdentity {
  /** The certificate's common name: the `srv-…` id it was issued for. */
  serverId: string;
  /** When the certificate was issued, to the second (X.509 times carry no milliseconds). */
  issuedAt: Date;
  /** The serial number, lower-case hex without leading zeros. */
  serial: string;
}

/** Why a certificate is not (or no longer) accepted, with the status the stream ends with. */
export interface CredentialProblem {
  kind: Extract<ErrorKind, 'unauthenticated' | 'forbidden_scope'>;
  /** For the agent's log and the `Revoked` message. */
  reason: string;
}

/** The server fields that decide whether its agent's certificate is accepted. */
export type ServerCredentialState = Pick<Server, 'lifecycleStatus' | 'credentialsRevokedAt' | 'certificateSerial'>;

function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

/**
 * The identity in a stream's client certificate (grpc-js `call.getAuthContext()`), or undefined when there is
 * none usable. TLS has already verified the chain against the agent CA (the server requires client
 * certificates), so only reading remains.
 */
export function peerIdentity(auth: { sslPeerCertificate?: PeerCertificate } | undefined): PeerIdentity | undefined {
  const certificate: PeerCertificate | undefined = auth?.sslPeerCertificate;
  const commonName = certificate?.subject?.CN;
  if (certificate === undefined || typeof commonName !== 'string' || commonName === '') return undefined;
  const notBefore = Date.parse(certificate.valid_from);
  if (Number.isNaN(notBefore)) return undefined;
  return {
    serverId: commonName,
    issuedAt: new Date(notBefore + certificateBackdateMs),
    serial: normalizeSerial(certificate.serialNumber),
  };
}

/**
 * Decides whether `peer` may speak for `server` (null: no such row). Refused: a missing or deleted server, an
 * inactive one, and a certificate issued before `credentialsRevokedAt`.
 *
 * Certificate times have whole seconds, so a certificate issued in the same second as the revocation is
 * ambiguous: it is accepted only when it is the server's current certificate (its serial is the one recorded at
 * issue), which is the one issued after the revocation in the "new credential" flow.
 */
export function credentialProblem(server: ServerCredentialState | null, peer: PeerIdentity): CredentialProblem | null {
  if (server === null || server.lifecycleStatus === 'deleted') {
    return { kind: 'unauthenticated', reason: `the server ${peer.serverId} was deleted from the control plane` };
  }
  if (server.lifecycleStatus !== 'active') return { kind: 'forbidden_scope', reason: 'the server was deactivated' };
  const revokedAt = server.credentialsRevokedAt?.getTime();
  if (revokedAt === undefined) return null;
  const issuedAt = peer.issuedAt.getTime();
  const current = server.certificateSerial != null && normalizeSerial(server.certificateSerial) === peer.serial;
  const revoked = issuedAt + 1000 <= revokedAt || (issuedAt < revokedAt && !current);
  return revoked ? { kind: 'unauthenticated', reason: 'a new credential was issued for this server' } : null;
}
