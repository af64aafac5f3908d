import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandKind } from '../../../shared/command-catalogue.js';
import type { EdgeInspectPayload, EdgeInspectResult, ServedCertificate } from '../../../shared/edge-command.js';
import { type DeployFixture, startDeployFixture } from '../../../test/helpers/deploy-fixture.js';
import { insertBindingRow } from '../../../test/helpers/domain-binding-row.js';
import { createTestCa, issueTestLeaf, type TestCa } from '../../../test/helpers/test-certificates.js';
import { Project } from '../projects/entity.js';

let fixture: DeployFixture;
let ca: TestCa;
let serverId: string;
/** What the fake Caddy serves on its TLS port, by host name. */
const serving = new Map<string, string>();
const inspected: string[][] = [];

/** What the real agent's probe reports for a served certificate (agent/edge/served-certificates.ts). */
function describeServed(hostname: string, pem: string | undefined): ServedCertificate {
  if (pem === undefined) {
    return {
      hostname,
      served: false,
      error: `no certificate for ${hostname} (handshake refused)`,
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
  const certificate = new X509Certificate(pem);
  const covers = certificate.checkHost(hostname) !== undefined;
  return {
    hostname,
    served: covers,
    error: covers ? '' : `the certificate served for ${hostname} does not cover it`,
    issuer: certificate.issuer.split('\n').join(', '),
    subject: certificate.subject.split('\n').join(', '),
    serialNumber: certificate.serialNumber,
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: new Date(certificate.validTo).toISOString(),
    fingerprint: certificate.fingerprint256,
    subjectAlternativeNames: (certificate.subjectAltName ?? '').split(', ').filter(Boolean),
    keyAlgorithm: 'ECDSA P-256',
  };
}

function inspectResult(payload: EdgeInspectPayload): EdgeInspectResult {
  inspected.push(payload.tlsHostnames);
  return {
    observedAt: new Date().toISOString(),
    reachable: true,
    error: '',
    adminUrl: 'http://127.0.0.1:2019',
    httpPort: 80,
    httpsPort: 443,
    appliedVersion: 1,
    routes: [],
    foreignRouteCount: 0,
    certificates: payload.tlsHostnames.map((h) => describeServed(h, serving.get(h))),
  };
}

beforeAll(async () => {
  fixture = await startDeployFixture();
  ca = await createTestCa('Fake ACME Root');
  ({ serverId } = await fixture.connectServer(async (command) => {
    const payload = JSON.parse(new TextDecoder().decode(command.payloadJson));
    if (command.kind === commandKind.edgeInspect) return { succeeded: true, result: inspectResult(payload) };
    if (command.kind === commandKind.edgeSync) {
      const at = new Date().toISOString();
      const result = { version: payload.version, status: 'ready', changed: true, appliedAt: at };
      return { succeeded: true, result: { ...result, httpPort: 80, httpsPort: 443 } };
    }
    return { succeeded: true, result: {} };
  }));
});
afterAll(async () => fixture?.close());

const post = (url: string, json: unknown) => fixture.t.request({ method: 'POST', url, token: fixture.token, json });
const show = async (id: string) =>
  (await fixture.t.request({ method: 'GET', url: `/certificates/${id}`, token: fixture.token })).json();

async function createBinding(domainName: string): Promise<string> {
  const ids = await fixture.createResource();
  const em = fixture.t.orm.em.fork();
  const project = await em.findOneOrFail(Project, ids.projectId);
  return insertBindingRow(em, {
    organizationId: project.organization.id,
    projectId: ids.projectId,
    environmentId: ids.environmentId,
    resourceId: ids.resourceId,
    serverId,
    domainName,
  });
}

describe('managed certificate observation', () => {
  it('marks the attempt issued and the certificate active once the edge serves a certificate for the name', async () => {
    const bindingId = await createBinding('acme.example.test');
    const { certificateId, attemptId } = (
      await post('/certificates/issue-or-renew', { domainBindingId: bindingId })
    ).json();
    // A certificate for other names (Caddy's answer while it has none for this one) is not taken.
    serving.set('acme.example.test', (await issueTestLeaf(ca, ['other.example.test'])).certificatePem);
    await fixture.t.parts.services.certificateObserver.observe(fixture.t.orm.em.fork());
    expect((await show(certificateId)).status).toBe('issuing');

    const leaf = await issueTestLeaf(ca, ['acme.example.test']);
    serving.set('acme.example.test', leaf.certificatePem);
    // Nothing but the module's own poll (every 5 s while a certificate waits) reads it back.
    await vi.waitFor(async () => expect((await show(certificateId)).status).toBe('active'), {
      timeout: 15_000,
      interval: 250,
    });
    const active = await show(certificateId);
    expect(active).toMatchObject({
      issuer: 'CN=Fake ACME Root',
      serialNumber: leaf.serialNumber.toUpperCase(),
      subjectAlternativeNames: ['acme.example.test'],
      keyAlgorithm: 'ECDSA P-256',
      latestAttempt: { id: attemptId, status: 'issued', reason: 'issue' },
    });
    expect(active.fingerprint).toBe(new X509Certificate(leaf.certificatePem).fingerprint256);
    expect(active.expiresAt).toBe(new Date(Math.floor(leaf.notAfter.getTime() / 1000) * 1000).toISOString());
    expect(inspected.some((hosts) => hosts.includes('acme.example.test'))).toBe(true);
  }, 30_000);

  it('records a renewal Caddy made on its own when the daily check sees a new serial', async () => {
    const bindingId = await createBinding('renew.example.test');
    const first = await issueTestLeaf(ca, ['renew.example.test']);
    serving.set('renew.example.test', first.certificatePem);
    const { certificateId } = (await post('/certificates/issue-or-renew', { domainBindingId: bindingId })).json();
    const { certificateObserver, certificateJobs } = fixture.t.parts.services;
    await certificateObserver.observe(fixture.t.orm.em.fork());
    expect((await show(certificateId)).status).toBe('active');

    const renewed = await issueTestLeaf(ca, ['renew.example.test']);
    serving.set('renew.example.test', renewed.certificatePem);
    await certificateJobs.runDaily(fixture.t.orm.em.fork());
    const shown = await show(certificateId);
    expect(shown).toMatchObject({
      status: 'active',
      serialNumber: renewed.serialNumber.toUpperCase(),
      latestAttempt: { status: 'issued', reason: 'renew' },
      expiryWarning: null,
    });
    expect(shown.attempts.map((a: { reason: string }) => a.reason)).toEqual(['issue', 'renew']);
  });
});
