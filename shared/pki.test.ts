import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateFingerprint,
  createCertificateAuthority,
  createCertificateRequest,
  generateKeyPair,
  issueClientCertificate,
  issueGatewayCertificate,
} from './pki.js';

describe('pki', () => {
  it('issues a client certificate for the server id the control plane chooses, not the one requested', async () => {
    const ca = await createCertificateAuthority('Berth test CA', 30);
    const agent = await generateKeyPair();
    const csr = await createCertificateRequest(agent.keys, 'srv-requested-by-agent');
    const issued = await issueClientCertificate(ca, csr, 'srv-chosen', 7);
    const cert = new X509Certificate(issued.certificatePem);
    expect(cert.subject).toBe('CN=srv-chosen');
    expect(cert.subjectAltName).toContain('urn:berth:server:srv-chosen');
    expect(cert.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
    expect(cert.checkPrivateKey).toBeDefined();
    const days = (issued.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
  });

  it('refuses a request that is not a valid CSR', async () => {
    const ca = await createCertificateAuthority('Berth test CA', 30);
    await expect(issueClientCertificate(ca, 'not a csr', 'srv-x', 7)).rejects.toThrow(/PKCS#10/);
  });

  it('issues a gateway certificate signed by the CA, and fingerprints differ per certificate', async () => {
    const ca = await createCertificateAuthority('Berth test CA', 30);
    const gateway = await issueGatewayCertificate(ca, 30, ['berth.example.com']);
    const cert = new X509Certificate(gateway.certificatePem);
    expect(cert.subjectAltName).toContain('DNS:berth-control-plane');
    expect(cert.subjectAltName).toContain('DNS:berth.example.com');
    expect(cert.checkIssued(new X509Certificate(ca.certificatePem))).toBe(true);
    expect(certificateFingerprint(ca.certificatePem)).toMatch(/^[0-9a-f]{64}$/);
    expect(certificateFingerprint(ca.certificatePem)).not.toBe(certificateFingerprint(gateway.certificatePem));
  });
});
