import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { certificateBackdateMs, credentialProblem, type PeerIdentity, peerIdentity } from './identity.js';

const issuedAt = new Date('2026-11-23T12:00:00.000Z');
const peer: PeerIdentity = { serverId: 'srv-a', issuedAt, serial: 'abc123' };
const active = { lifecycleStatus: 'active' as const, credentialsRevokedAt: null, certificateSerial: null };
const at = (ms: number) => new Date(issuedAt.getTime() + ms);

describe('peerIdentity', () => {
  it('reads the server id, the issue time (notBefore plus the backdate) and a normalised serial', () => {
    const certificate = {
      subject: { CN: 'srv-a' },
      valid_from: 'Nov 23 11:59:00 2026 GMT',
      serialNumber: '00ABC123',
    } as unknown as PeerCertificate;
    expect(peerIdentity({ sslPeerCertificate: certificate })).toEqual(peer);
    expect(certificateBackdateMs).toBe(60_000);
  });

  it('finds no identity without a certificate or without a common name', () => {
    expect(peerIdentity(undefined)).toBeUndefined();
    expect(peerIdentity({})).toBeUndefined();
    const nameless = { subject: {}, valid_from: 'Nov 23 11:59:00 2026 GMT', serialNumber: '01' };
    expect(peerIdentity({ sslPeerCertificate: nameless as unknown as PeerCertificate })).toBeUndefined();
  });
});

describe('credentialProblem', () => {
  it('accepts an active server with no revocation', () => {
    expect(credentialProblem(active, peer)).toBeNull();
  });

  it('refuses a missing, deleted or inactive server, saying which', () => {
    expect(credentialProblem(null, peer)).toMatchObject({
      kind: 'unauthenticated',
      reason: expect.stringMatching(/deleted/),
    });
    expect(credentialProblem({ ...active, lifecycleStatus: 'deleted' }, peer)?.kind).toBe('unauthenticated');
    expect(credentialProblem({ ...active, lifecycleStatus: 'inactive' }, peer)).toEqual({
      kind: 'forbidden_scope',
      reason: 'the server was deactivated',
    });
  });

  it('refuses a certificate issued a second or more before the revocation, even the current one', () => {
    const server = { ...active, credentialsRevokedAt: at(1000), certificateSerial: 'abc123' };
    expect(credentialProblem(server, peer)).toEqual({
      kind: 'unauthenticated',
      reason: 'a new credential was issued for this server',
    });
  });

  it('accepts a certificate issued at or after the revocation', () => {
    expect(credentialProblem({ ...active, credentialsRevokedAt: at(0) }, peer)).toBeNull();
    expect(credentialProblem({ ...active, credentialsRevokedAt: at(-5000) }, peer)).toBeNull();
  });

  it('within the same second as the revocation, accepts only the server current certificate', () => {
    const revoked = { ...active, credentialsRevokedAt: at(400) };
    expect(credentialProblem({ ...revoked, certificateSerial: 'other' }, peer)).not.toBeNull();
    expect(credentialProblem({ ...revoked, certificateSerial: '00ABC123' }, peer)).toBeNull();
  });
});
