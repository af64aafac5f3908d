import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind } from '../../../shared/command-catalogue.js';
import type { EdgeSyncQueued } from '../../../shared/edge-command.js';
import { domainErrorCodes } from '../../../shared/errors.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { createWebResource } from '../../../test/helpers/create-web-resource.js';
import { insertBindingRow } from '../../../test/helpers/domain-binding-row.js';
import { registerServer } from '../../../test/helpers/register-server.js';
import {
  createIntermediateCa,
  createTestCa,
  encryptPrivateKey,
  issueExpiredLeaf,
  issueNotYetValidLeaf,
  issueTestLeaf,
  type TestCa,
  unrelatedPrivateKey,
} from '../../../test/helpers/test-certificates.js';
import { AgentCommand } from '../agent-commands/entity.js';
import { bindingServerIds } from '../domain-bindings/edge-source.js';
import { DomainBinding } from '../domain-bindings/entity.js';
import { ServerDesiredState } from '../runtime/entity.js';
import { Certificate } from './entity.js';
import { checkCertificateExpiry } from './expiry-job.js';
import { importedEdgeCertificate } from './views.js';

let t: TestApp;
let token: string;
let organizationId: string;
let ca: TestCa;
let serverId: string;
// The service clock: moved forward by tests that wait for a deadline.
let offsetMs = 0;
let counter = 0;

beforeAll(async () => {
  t = await buildTestApp({ clock: () => new Date(Date.now() + offsetMs) });
  ({ token, organizationId } = await t.bootstrap());
  ca = await createTestCa();
  serverId = await registerServer(t, token, 'cert-edge');
  // The edge route source the domain-bindings module installs, reduced to what certificates add to it.
  const { services } = t.parts;
  services.edge.useRouteSource({
    async edgeOf(em, server) {
      const bindings = await em.find(DomainBinding, { server, deletedAt: null });
      const certificates = await em.find(Certificate, { domainBinding: { $in: bindings.map((b) => b.id) } });
      const refs = bindings.flatMap((b) => {
        const ref = importedEdgeCertificate(certificates.filter((c) => c.domainBinding.id === b.id));
        return ref ? [ref] : [];
      });
      return { routes: [], certificates: refs };
    },
    privateKeyOf: (em, id) => services.certificates.privateKeyOf(em, id),
  });
});
afterAll(async () => t?.close());

const post = (url: string, json: unknown) => t.request({ method: 'POST', url, token, json });
const get = (url: string) => t.request({ method: 'GET', url, token });

/** A domain binding row (the domain-bindings routes are another module's), on the test's server. */
async function createBinding(
  domainName: string,
  extra: Partial<Pick<DomainBinding, 'tlsMode' | 'certificatePolicy' | 'proxyKind'>> & { ownServer?: boolean } = {},
): Promise<string> {
  counter += 1;
  const { projectId, environmentId, resourceId } = await createWebResource(t, token, `certs ${counter}`);
  return insertBindingRow(
    t.orm.em.fork(),
    {
      organizationId,
      projectId,
      environmentId,
      resourceId,
      serverId: extra.ownServer === false ? null : serverId,
      domainName,
    },
    extra,
  );
}

const importCertificate = (domainBindingId: string, certificateChain: string, privateKey: string) =>
  post('/certificates/import', { domainBindingId, certificateChain, privateKey });

const lastSync = async () => {
  const [sync] = await t.orm.em
    .fork()
    .find(AgentCommand, { server: serverId, kind: commandKind.edgeSync }, { orderBy: { issuedAt: 'desc' }, limit: 1 });
  return sync?.payload as EdgeSyncQueued | undefined;
};

describe('certificate import', () => {
  it('makes a valid chain active with the metadata of its leaf, and queues it for the edge without its key', async () => {
    const bindingId = await createBinding('shop.example.test');
    const intermediate = await createIntermediateCa(ca);
    const leaf = await issueTestLeaf(intermediate, ['shop.example.test', 'www.shop.example.test'], {
      chain: [intermediate, ca],
    });
    const res = await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem);
    expect(res.statusCode, res.body).toBe(201);
    const { certificateId, attemptId } = res.json();
    const shown = (await get(`/certificates/${certificateId}`)).json();
    expect(shown).toMatchObject({
      id: certificateId,
      domainBindingId: bindingId,
      domainName: 'shop.example.test',
      status: 'active',
      source: 'imported',
      issuer: 'CN=Berth Test Intermediate',
      serialNumber: leaf.serialNumber.toUpperCase(),
      keyAlgorithm: 'ECDSA P-256',
      subjectAlternativeNames: ['shop.example.test', 'www.shop.example.test'],
      expiresAt: new Date(Math.floor(leaf.notAfter.getTime() / 1000) * 1000).toISOString(),
      latestAttempt: { id: attemptId, status: 'issued', reason: 'issue' },
    });
    expect(shown.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const sync = await lastSync();
    expect(sync?.certificates).toEqual([
      { certificateId, hostnames: ['shop.example.test'], chainPem: expect.stringContaining('BEGIN CERTIFICATE') },
    ]);
    expect(JSON.stringify(sync)).not.toContain('PRIVATE KEY');
  });

  it('never returns, logs or stores the private key in the clear, yet gives it back unsealed to the edge', async () => {
    const bindingId = await createBinding('secret.example.test');
    const leaf = await issueTestLeaf(ca, ['secret.example.test']);
    const res = await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem);
    const { certificateId } = res.json();
    const keyBody = leaf.privateKeyPem.split('\n')[1]!;
    const bodies = [
      res.body,
      (await get(`/certificates/${certificateId}`)).body,
      (await get(`/certificates?domainBindingId=${bindingId}`)).body,
    ];
    for (const body of bodies) expect(body).not.toMatch(/PRIVATE KEY|sealed/i);
    expect(t.logs.join('')).not.toContain(keyBody);
    const [row] = await t.orm.em
      .fork()
      .getConnection()
      .execute('select sealed_private_key from certificates where id = ?', [certificateId]);
    expect(row.sealed_private_key).toMatch(/^v2\./);
    expect(row.sealed_private_key).not.toContain(keyBody);
    const unsealed = await t.parts.services.certificates.privateKeyOf(t.orm.em.fork(), certificateId);
    expect(unsealed).toContain(keyBody);
  });

  it.each([
    ['certificate_chain_invalid', 'certificateChain', 'garbage'],
    ['private_key_invalid', 'privateKey', 'bad-key'],
    ['private_key_encrypted', 'privateKey', 'encrypted'],
    ['certificate_key_mismatch', 'privateKey', 'other-key'],
    ['certificate_chain_incomplete', 'certificateChain', 'no-intermediate'],
    ['certificate_signature_invalid', 'certificateChain', 'impostor-ca'],
    ['certificate_expired', 'certificateChain', 'expired'],
    ['certificate_not_yet_valid', 'certificateChain', 'future'],
    ['certificate_domain_mismatch', 'certificateChain', 'other-name'],
    ['certificate_domain_mismatch', 'certificateChain', 'wildcard-two-labels'],
  ])(
    'refuses an import with VALIDATION_ERROR reason %s on %s (%s), and stores nothing',
    async (reason, field, variant) => {
      // Two labels under the wildcard of the last variant: `*.example.test` does not cover them.
      const domain =
        variant === 'wildcard-two-labels' ? 'deep.refused.example.test' : `refused-${variant}.example.test`;
      const bindingId = await createBinding(domain);
      const good = await issueTestLeaf(ca, [domain]);
      let chain = good.chainPem;
      let key = good.privateKeyPem;
      if (variant === 'garbage') chain = 'not a certificate';
      if (variant === 'bad-key') key = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
      if (variant === 'encrypted') key = encryptPrivateKey(good.privateKeyPem);
      if (variant === 'other-key') key = await unrelatedPrivateKey();
      if (variant === 'no-intermediate') {
        const intermediate = await createIntermediateCa(ca);
        ({ chainPem: chain, privateKeyPem: key } = await issueTestLeaf(intermediate, [domain], { chain: [] }));
      }
      if (variant === 'impostor-ca') {
        const impostor = await createTestCa('Berth Test Root');
        ({ privateKeyPem: key } = good);
        chain = `${good.certificatePem}\n${impostor.certificatePem}`;
      }
      if (variant === 'expired') ({ chainPem: chain, privateKeyPem: key } = await issueExpiredLeaf(ca, [domain]));
      if (variant === 'future') ({ chainPem: chain, privateKeyPem: key } = await issueNotYetValidLeaf(ca, [domain]));
      if (variant === 'other-name')
        ({ chainPem: chain, privateKeyPem: key } = await issueTestLeaf(ca, ['x.example.test']));
      if (variant === 'wildcard-two-labels') {
        ({ chainPem: chain, privateKeyPem: key } = await issueTestLeaf(ca, ['*.example.test']));
      }
      const res = await importCertificate(bindingId, chain, key);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field, details: { reason } });
      expect(res.body).not.toContain(key.split('\n')[1] ?? key);
      expect((await get(`/certificates?domainBindingId=${bindingId}`)).json().items).toEqual([]);
    },
  );

  it('answers a repeated import of the active certificate with it instead of a new row', async () => {
    const bindingId = await createBinding('again.example.test');
    const leaf = await issueTestLeaf(ca, ['again.example.test']);
    const first = await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem);
    const again = await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem);
    expect(again.json()).toEqual(first.json());
    expect((await get(`/certificates?domainBindingId=${bindingId}`)).json().items).toHaveLength(1);
  });

  it('accepts a wildcard that stands for exactly the first label of the domain', async () => {
    const bindingId = await createBinding('api.wild.example.test');
    const leaf = await issueTestLeaf(ca, ['*.wild.example.test']);
    const res = await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem);
    expect(res.statusCode, res.body).toBe(201);
  });

  it('supersedes the active certificate of the binding, which then can be deleted but not the new one', async () => {
    const bindingId = await createBinding('rotate.example.test');
    const first = await issueTestLeaf(ca, ['rotate.example.test']);
    const second = await issueTestLeaf(ca, ['rotate.example.test']);
    const a = (await importCertificate(bindingId, first.chainPem, first.privateKeyPem)).json().certificateId;
    const b = (await importCertificate(bindingId, second.chainPem, second.privateKeyPem)).json();
    expect((await get(`/certificates/${a}`)).json().status).toBe('disabled');
    expect((await get(`/certificates/${b.certificateId}`)).json().latestAttempt.reason).toBe('replace');
    expect((await lastSync())?.certificates.map((c) => c.certificateId)).toContain(b.certificateId);

    const refused = await t.request({
      method: 'DELETE',
      url: `/certificates/${b.certificateId}`,
      token,
      json: { confirmation: { certificateId: b.certificateId } },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'CONFLICT', details: { reason: 'certificate_active' } });
    const wrong = await t.request({
      method: 'DELETE',
      url: `/certificates/${a}`,
      token,
      json: { confirmation: { certificateId: b.certificateId } },
    });
    expect(wrong.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'confirmation.certificateId' });
    const deleted = await t.request({
      method: 'DELETE',
      url: `/certificates/${a}`,
      token,
      json: { confirmation: { certificateId: a } },
    });
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toEqual({ certificateId: a });
    const items = (await get(`/certificates?domainBindingId=${bindingId}`)).json().items;
    expect(items.map((c: { id: string }) => c.id)).toEqual([b.certificateId]);
    // Kept for audit: the row and its attempts are still there.
    expect((await get(`/certificates/${a}`)).json()).toMatchObject({
      status: 'deleted',
      attempts: [{ status: 'issued' }],
    });
  });

  it('revokes an imported certificate: the edge document drops it and its sealed key is erased', async () => {
    const bindingId = await createBinding('revoke.example.test');
    const leaf = await issueTestLeaf(ca, ['revoke.example.test']);
    const { certificateId } = (await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem)).json();
    const res = await post(`/certificates/${certificateId}/revoke`, {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ certificateId });
    const shown = (await get(`/certificates/${certificateId}`)).json();
    expect(shown.status).toBe('revoked');
    expect(shown.revokedAt).not.toBeNull();
    expect((await lastSync())?.certificates.map((c) => c.certificateId)).not.toContain(certificateId);
    expect(await t.parts.services.certificates.privateKeyOf(t.orm.em.fork(), certificateId)).toBeNull();
    const deleted = await t.request({
      method: 'DELETE',
      url: `/certificates/${certificateId}`,
      token,
      json: { confirmation: { certificateId } },
    });
    expect(deleted.statusCode).toBe(200);
  });

  it('refuses an import for a binding with TLS disabled, and an unknown binding with NOT_FOUND', async () => {
    const bindingId = await createBinding('plain.example.test', { tlsMode: 'disabled' });
    const leaf = await issueTestLeaf(ca, ['plain.example.test']);
    const res = await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ details: { reason: 'certificate_tls_disabled' } });
    const missing = await importCertificate('dom-nope', leaf.chainPem, leaf.privateKeyPem);
    expect(missing.statusCode).toBe(404);
  });
});

describe('managed certificates', () => {
  it('refuses issue-or-renew for bindings with TLS disabled, a manual certificate policy or no Berth proxy', async () => {
    for (const [extra, reason] of [
      [{ tlsMode: 'disabled' }, 'certificate_tls_disabled'],
      [{ certificatePolicy: 'disabled' }, 'certificate_tls_disabled'],
      [{ certificatePolicy: 'manual' }, 'certificate_policy_manual'],
      [{ proxyKind: 'none' }, 'certificate_not_routed'],
    ] as const) {
      const bindingId = await createBinding(`refuse-${counter}.example.test`, extra);
      const res = await post('/certificates/issue-or-renew', { domainBindingId: bindingId });
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json()).toMatchObject({ code: 'CONFLICT', field: 'domainBindingId', details: { reason } });
    }
  });

  it('fails an attempt that is not served before the deadline, retriably, and a retry starts a new one', async () => {
    const bindingId = await createBinding('late.example.test');
    const res = await post('/certificates/issue-or-renew', { domainBindingId: bindingId });
    expect(res.statusCode, res.body).toBe(200);
    const { certificateId, attemptId } = res.json();
    expect((await get(`/certificates/${certificateId}`)).json()).toMatchObject({
      status: 'issuing',
      source: 'managed',
      latestAttempt: { id: attemptId, status: 'issuing', reason: 'issue' },
    });
    // Asking again while the attempt waits returns it instead of piling up attempts.
    expect((await post('/certificates/issue-or-renew', { domainBindingId: bindingId })).json()).toEqual(res.json());
    const notRetriable = await post(`/certificates/${certificateId}/retries`, {});
    expect(notRetriable.statusCode).toBe(409);
    expect(notRetriable.json()).toMatchObject({ details: { reason: 'certificate_not_retriable' } });

    const { certificateObserver } = t.parts.services;
    await certificateObserver.observe(t.orm.em.fork());
    expect((await get(`/certificates/${certificateId}`)).json().status).toBe('issuing');
    offsetMs = 11 * 60_000;
    try {
      expect((await certificateObserver.observe(t.orm.em.fork())).failed).toContain(certificateId);
    } finally {
      offsetMs = 0;
    }
    const failed = (await get(`/certificates/${certificateId}`)).json();
    expect(failed).toMatchObject({
      status: 'failed',
      latestAttempt: { status: 'failed', errorCode: 'certificate_not_served', retriable: true },
    });
    expect(failed.latestAttempt.failureMessage).toContain('not connected');
    const retried = await post(`/certificates/${certificateId}/retries`, {});
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json().attemptId).not.toBe(attemptId);
    const shown = (await get(`/certificates/${certificateId}`)).json();
    expect(shown).toMatchObject({ status: 'issuing', latestAttempt: { status: 'issuing' } });
    expect(shown.attempts).toHaveLength(2);
  });

  it('refuses a retry of an imported certificate', async () => {
    const bindingId = await createBinding('noretry.example.test');
    const leaf = await issueTestLeaf(ca, ['noretry.example.test']);
    const { certificateId } = (await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem)).json();
    const res = await post(`/certificates/${certificateId}/retries`, {});
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ details: { reason: 'certificate_not_retriable' } });
  });
});

describe('the daily expiry check', () => {
  it('warns 30 days ahead (imported: expiring, managed: renewal overdue) and marks expired ones', async () => {
    const bindingId = await createBinding('expiring.example.test');
    const leaf = await issueTestLeaf(ca, ['expiring.example.test']);
    const { certificateId } = (await importCertificate(bindingId, leaf.chainPem, leaf.privateKeyPem)).json();
    const managedBinding = await createBinding('managed-expiring.example.test');
    const managedId = (await post('/certificates/issue-or-renew', { domainBindingId: managedBinding })).json()
      .certificateId;
    const em = t.orm.em.fork();
    const managed = await em.findOneOrFail(Certificate, managedId);
    Object.assign(managed, { status: 'active', expiresAt: new Date(leaf.notAfter.getTime() + 86_400_000) });
    await em.flush();

    const day = 86_400_000;
    const early = await checkCertificateExpiry(t.orm.em.fork(), new Date(leaf.notAfter.getTime() - 31 * day));
    expect(early.warned).not.toContain(certificateId);
    const close = await checkCertificateExpiry(t.orm.em.fork(), new Date(leaf.notAfter.getTime() - 29 * day));
    expect(close.warned).toEqual(expect.arrayContaining([certificateId, managedId]));
    expect((await get(`/certificates/${certificateId}`)).json().expiryWarning).toMatchObject({
      code: 'imported_certificate_expiring',
    });
    expect((await get(`/certificates/${managedId}`)).json().expiryWarning).toMatchObject({ code: 'renewal_overdue' });
    const after = await checkCertificateExpiry(t.orm.em.fork(), new Date(leaf.notAfter.getTime() + 60_000));
    expect(after.expired).toContain(certificateId);
    expect(after.expired).not.toContain(managedId);
    expect((await get(`/certificates/${certificateId}`)).json().status).toBe('expired');
  });
});

describe('the servers of a binding', () => {
  it('are its own server, else those whose desired state runs its resource', async () => {
    const em = t.orm.em.fork();
    const own = await em.findOneOrFail(DomainBinding, await createBinding('own.example.test'));
    expect(await bindingServerIds(em, own)).toEqual([serverId]);
    const floating = await em.findOneOrFail(
      DomainBinding,
      await createBinding('float.example.test', { ownServer: false }),
    );
    expect(await bindingServerIds(em, floating)).toEqual([]);
    const runner = await registerServer(t, token, 'cert-runner');
    em.create(ServerDesiredState, {
      server: runner,
      version: 1,
      document: { runtimes: [{ resourceId: floating.resource.id, state: 'running' }] } as never,
      updatedAt: new Date(),
    });
    await em.flush();
    expect(await bindingServerIds(em, floating)).toEqual([runner]);
  });
});

describe('domain error codes', () => {
  it('lists every domain and certificate reason in docs/errors.md', () => {
    const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    expect(Object.keys(domainErrorCodes).filter((code) => !docs.includes(`| \`${code}\` |`))).toEqual([]);
  });
});
