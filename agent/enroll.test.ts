import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  certificateFingerprint,
  createCertificateAuthority,
  issueClientCertificate,
} from '../shared/pki.js';
import { EnrollmentError, enroll } from './enroll.js';
import { readEnrollment, statePaths } from './state-dir.js';

type Answer = (body: Record<string, unknown>) => Promise<{ status: number; body: unknown }>;

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let server: http.Server;
let url: string;
let answer: Answer;
let requests: Array<Record<string, unknown>>;
let stateDir: string;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([
    createCertificateAuthority('Berth test CA', 1),
    createCertificateAuthority('Someone else', 1),
  ]);
  // A stand-in for the control plane's enrollment endpoint: it signs the CSR like the real one will.
  server = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => {
      raw += chunk;
    });
    request.on('end', async () => {
      if (request.method === 'GET' && request.url === '/agent/ca') {
        requests.push({ path: request.url, method: request.method });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ caCertificatePem: ca.certificatePem }));
        return;
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      requests.push({ ...body, path: request.url, method: request.method });
      const reply = await answer(body);
      response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const issuing =
  (authority: () => CertificateAuthority = () => ca): Answer =>
  async (body) => {
    const issued = await issueClientCertificate(ca, body['csrPem'] as string, 'srv_0001', 7);
    return {
      status: 201,
      body: {
        serverId: 'srv_0001',
        certificatePem: issued.certificatePem,
        caCertificatePem: authority().certificatePem,
        notAfter: issued.notAfter.toISOString(),
        grpcUrl: '127.0.0.1:8443',
        grpcServerName: 'berth-control-plane',
      },
    };
  };

beforeEach(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'berth-enroll-'));
  requests = [];
  answer = issuing();
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('berth agent enroll', () => {
  it('sends a CSR (never the key) with the token and saves the state folder with tight modes', async () => {
    const result = await enroll(
      {
        url: `${url}/`,
        token: 'tok_secret',
        name: 'web-1',
        stateDir,
        caSha256: certificateFingerprint(ca.certificatePem),
      },
      { hostname: () => 'host-a' },
    );
    // First the pinned CA is checked, then the token is sent.
    expect(requests.map((r) => r['path'])).toEqual(['/agent/ca', '/agent/enrollments']);
    const sent = requests[1]!;
    expect(sent).toMatchObject({ method: 'POST', path: '/agent/enrollments', token: 'tok_secret', hostname: 'host-a' });
    expect(sent).toMatchObject({ name: 'web-1', agentVersion: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(sent['csrPem']).toMatch(/BEGIN CERTIFICATE REQUEST/);
    expect(JSON.stringify(sent)).not.toMatch(/PRIVATE KEY/);

    const paths = statePaths(stateDir);
    expect(result).toMatchObject({ serverId: 'srv_0001', grpcUrl: '127.0.0.1:8443', controlPlaneUrl: url });
    expect(await readEnrollment(paths)).toMatchObject({
      serverId: 'srv_0001',
      grpcUrl: '127.0.0.1:8443',
      grpcServerName: 'berth-control-plane',
      controlPlaneUrl: url,
    });
    expect(await readFile(paths.keyPem, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    expect(await readFile(paths.caPem, 'utf8')).toBe(ca.certificatePem);
    const mode = async (file: string) => (await stat(file)).mode & 0o777;
    expect(await mode(paths.keyPem)).toBe(0o600);
    expect(await mode(paths.agentJson)).toBe(0o600);
    expect(await mode(paths.credentialsDir)).toBe(0o700);
  });

  it('fails with the envelope message and hint on an invalid token, saving nothing', async () => {
    answer = async () => ({
      status: 401,
      body: {
        code: 'UNAUTHORIZED',
        message: 'The enrollment token is invalid, expired or already used.',
        hint: 'Create a new token with "add server".',
        requestId: 'req_1',
      },
    });
    const failure = await enroll({ url, token: 'tok_used', stateDir }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EnrollmentError);
    expect(failure).toMatchObject({
      message: 'The enrollment token is invalid, expired or already used.',
      hint: 'Create a new token with "add server".',
      code: 'UNAUTHORIZED',
    });
    expect(await exists(statePaths(stateDir).agentJson)).toBe(false);
    expect(await exists(statePaths(stateDir).keyPem)).toBe(false);
  });

  it('refuses a CA whose fingerprint differs from --ca-sha256, before saving anything', async () => {
    const expected = certificateFingerprint(otherCa.certificatePem);
    await expect(enroll({ url, token: 't', stateDir, caSha256: expected })).rejects.toThrow(/the token was not used/);
    expect(await exists(statePaths(stateDir).credentialsDir)).toBe(false);
    // Checked before the token is spent: the enrollment endpoint was never called.
    expect(requests.filter((r) => r['path'] === '/agent/enrollments')).toHaveLength(0);
  });

  it('still refuses when the enrollment answer carries another CA than the pinned one it showed first', async () => {
    answer = issuing(() => otherCa);
    const pinned = certificateFingerprint(ca.certificatePem);
    await expect(enroll({ url, token: 't', stateDir, caSha256: pinned })).rejects.toThrow(/CA fingerprint is/);
    expect(await exists(statePaths(stateDir).credentialsDir)).toBe(false);
  });

  it('accepts the fingerprint with colons and in upper case', async () => {
    const colons = certificateFingerprint(ca.certificatePem).toUpperCase().match(/../g)!.join(':');
    await expect(enroll({ url, token: 't', stateDir, caSha256: colons })).resolves.toMatchObject({
      serverId: 'srv_0001',
    });
  });

  it('rejects a malformed --ca-sha256 without contacting the control plane', async () => {
    await expect(enroll({ url, token: 't', stateDir, caSha256: 'abc' })).rejects.toThrow(/64 hex digits/);
    expect(requests).toHaveLength(0);
  });

  it('refuses a certificate not signed by the CA sent with it', async () => {
    answer = issuing(() => otherCa);
    await expect(enroll({ url, token: 't', stateDir })).rejects.toThrow(/not signed by the CA/);
    expect(await exists(statePaths(stateDir).agentJson)).toBe(false);
  });

  it('refuses to replace an existing enrollment unless --force', async () => {
    await enroll({ url, token: 't1', stateDir });
    const again = await enroll({ url, token: 't2', stateDir }).catch((error: unknown) => error);
    expect(again).toMatchObject({ message: expect.stringContaining('already enrolled as srv_0001') });
    expect((again as EnrollmentError).hint).toContain('--force');
    expect(requests).toHaveLength(1);

    await expect(enroll({ url, token: 't3', stateDir, force: true })).resolves.toMatchObject({ serverId: 'srv_0001' });
    expect(requests).toHaveLength(2);
  });

  it('says which address it could not reach', async () => {
    await expect(enroll({ url: 'http://127.0.0.1:9', token: 't', stateDir })).rejects.toThrow(
      /could not reach the control plane at http:\/\/127\.0\.0\.1:9\/agent\/enrollments/,
    );
  });
});
