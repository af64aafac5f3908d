import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentMessage, CertificateIssuedSchema } from '../shared/gen/berth/agent/v1/agent_pb.js';
import { createLogger } from '../shared/logger.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createCertificateRequest,
  generateKeyPair,
  issueClientCertificate,
} from '../shared/pki.js';
import { createCertificateRenewal, needsRenewal } from './certificate-renewal.js';
import { readCredentials, statePaths, writeEnrollment } from './state-dir.js';

const day = 86_400_000;
const log = createLogger({ level: 'silent', name: 'test' });

describe('needsRenewal', () => {
  const notBefore = new Date('2025-01-01T00:00:00Z');
  const notAfter = new Date(notBefore.getTime() + 30 * day);
  it('is false while more than a third of the lifetime is left', () => {
    expect(needsRenewal(new Date(notBefore.getTime() + 19 * day), notBefore, notAfter)).toBe(false);
  });
  it('is true in the last third, and after expiry', () => {
    expect(needsRenewal(new Date(notBefore.getTime() + 21 * day), notBefore, notAfter)).toBe(true);
    expect(needsRenewal(new Date(notAfter.getTime() + day), notBefore, notAfter)).toBe(true);
  });
});

describe('certificate renewal', () => {
  let ca: CertificateAuthority;
  let dir: string;
  beforeAll(async () => {
    ca = await createCertificateAuthority('Berth test CA', 1);
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-renew-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function enrolled(issuedDaysAgo: number) {
    const { keys, privateKeyPem } = await generateKeyPair();
    const csr = await createCertificateRequest(keys, 'x');
    const issued = await issueClientCertificate(ca, csr, 'srv_1', 3, new Date(Date.now() - issuedDaysAgo * day));
    const paths = statePaths(dir);
    const enrollment = {
      controlPlaneUrl: 'http://x',
      grpcUrl: 'x:1',
      grpcServerName: 'n',
      serverId: 'srv_1',
      enrolledAt: '',
    };
    await writeEnrollment(paths, enrollment, {
      keyPem: privateKeyPem,
      certPem: issued.certificatePem,
      caPem: ca.certificatePem,
    });
    const sent: AgentMessage['payload'][] = [];
    const renewal = createCertificateRenewal({
      paths,
      serverId: 'srv_1',
      send: (payload) => sent.push(payload) > 0,
      clock: () => new Date(),
      log,
    });
    return { paths, sent, renewal, oldKey: privateKeyPem };
  }

  it('asks for nothing while the certificate is young', async () => {
    const { renewal, sent } = await enrolled(0);
    await renewal.check(true);
    expect(sent).toEqual([]);
  });

  it('asks once per session in the last third, then installs the answer atomically with a new key (0600)', async () => {
    const { renewal, sent, paths, oldKey } = await enrolled(2.5);
    await renewal.check(true);
    await renewal.check();
    expect(sent.map((p) => p.case)).toEqual(['certificateRequest']);
    const csrPem = (sent[0]!.value as { csrPem: string }).csrPem;
    const issued = await issueClientCertificate(ca, csrPem, 'srv_1', 3);

    await renewal.onIssued(create(CertificateIssuedSchema, { certificatePem: issued.certificatePem }));
    const credentials = await readCredentials(paths);
    expect(credentials.certPem).toBe(issued.certificatePem);
    expect(credentials.keyPem).not.toBe(oldKey);
    expect((await stat(paths.keyPem)).mode & 0o777).toBe(0o600);
  });

  it('keeps the current pair when the answer is a refusal or does not fit the new key', async () => {
    const { renewal, sent, paths } = await enrolled(2.5);
    const before = await readCredentials(paths);
    await renewal.check(true);
    await renewal.onIssued(create(CertificateIssuedSchema, { error: 'renewals are paused' }));
    await renewal.check(true);
    const { keys } = await generateKeyPair();
    const foreign = await issueClientCertificate(ca, await createCertificateRequest(keys, 'x'), 'srv_1', 3);
    await renewal.onIssued(create(CertificateIssuedSchema, { certificatePem: foreign.certificatePem }));
    expect(sent).toHaveLength(2);
    expect(await readCredentials(paths)).toEqual(before);
  });

  it('finishes a rotation interrupted between its two renames', async () => {
    const { paths } = await enrolled(0);
    await writeFile(paths.nextCertPem, 'NEW CERT');
    await writeFile(paths.keyPem, 'NEW KEY'); // the key was already renamed into place
    const credentials = await readCredentials(paths);
    expect(credentials).toMatchObject({ keyPem: 'NEW KEY', certPem: 'NEW CERT' });
    await expect(readFile(paths.nextCertPem)).rejects.toThrow();
  });
});
