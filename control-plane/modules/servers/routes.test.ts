import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateRequest, generateKeyPair } from '../../../shared/pki.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { registerServer } from '../../../test/helpers/register-server.js';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
});
afterAll(async () => t?.close());

const createServer = (name: string, extra: Record<string, unknown> = {}) => registerServer(t, token, name, extra);

async function issueToken(serverId: string) {
  const res = await t.request({
    method: 'POST',
    url: `/servers/${serverId}/credentials`,
    token,
    json: { credential: { kind: 'agent-enrollment' } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().enrollment as { token: string; expiresAt: string; installCommand: string; caSha256: string };
}

async function enroll(enrollmentToken: string) {
  const { keys } = await generateKeyPair();
  const csrPem = await createCertificateRequest(keys, 'whatever-the-agent-asks');
  return t.request({
    method: 'POST',
    url: '/agent/enrollments',
    json: { token: enrollmentToken, csrPem, agentVersion: '0.1.0', hostname: 'web-1' },
  });
}

describe('servers', () => {
  it('registers a server with the seed fields and reports its agent as never connected', async () => {
    const id = await createServer('web-1', { port: 22, targetKind: 'single-server', workloadRoles: [] });
    const shown = await t.request({ method: 'GET', url: `/servers/${id}`, token });
    expect(shown.json()).toMatchObject({
      schemaVersion: 'servers.show/v1',
      server: {
        id,
        name: 'web-1',
        port: 22,
        lifecycleStatus: 'active',
        edgeProxy: { kind: 'caddy', status: 'pending' },
      },
      rollups: { resources: { total: 0 } },
    });
    expect(shown.json().server.agent).toMatchObject({ connectionState: 'never-connected', lastSeenAt: null });
  });

  it('stores workload roles in canonical order and returns them in every read; none given is general-purpose', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/servers',
      token,
      json: {
        name: 'builder-1',
        host: '10.0.0.9',
        providerKey: 'generic-ssh',
        workloadRoles: ['sandbox-worker', 'deployment-runtime'],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const { id } = res.json();
    expect(res.json().workloadRoles).toEqual(['deployment-runtime', 'sandbox-worker']);
    const shown = (await t.request({ method: 'GET', url: `/servers/${id}`, token })).json();
    expect(shown.server.workloadRoles).toEqual(['deployment-runtime', 'sandbox-worker']);
    const listed = (await t.request({ method: 'GET', url: '/servers', token })).json().items;
    expect(listed.find((s: { id: string }) => s.id === id).workloadRoles).toEqual([
      'deployment-runtime',
      'sandbox-worker',
    ]);

    const plain = await createServer('general-1');
    expect((await t.request({ method: 'GET', url: `/servers/${plain}`, token })).json().server.workloadRoles).toEqual(
      [],
    );
  });

  it.each([
    ['an unknown role', ['gpu-worker'], 'workloadRoles.0'],
    ['a repeated role', ['artifact-builder', 'artifact-builder'], 'workloadRoles'],
    ['a string instead of an array', 'deployment-runtime', 'workloadRoles'],
  ])('refuses %s in workloadRoles with VALIDATION_ERROR naming the field', async (_case, workloadRoles, field) => {
    const res = await t.request({
      method: 'POST',
      url: '/servers',
      token,
      json: {
        name: `roles-${field}-${String(workloadRoles)}`,
        host: '10.0.0.8',
        providerKey: 'generic-ssh',
        workloadRoles,
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field });
  });

  it('stores a traefik server as asked and reports its proxy as unsupported instead of refusing it', async () => {
    const id = await createServer('edge-traefik', { proxyKind: 'traefik' });
    const { server } = (await t.request({ method: 'GET', url: `/servers/${id}`, token })).json();
    expect(server.edgeProxy).toMatchObject({
      kind: 'traefik',
      status: 'failed',
      lastErrorCode: 'proxy_kind_unsupported',
    });
  });

  it('issues a one-time enrollment token of at least 256 bits that expires in 15 minutes', async () => {
    const id = await createServer('enroll-me');
    const enrollment = await issueToken(id);
    expect(Buffer.from(enrollment.token.replace(/^berth_e_/, ''), 'base64url').length).toBeGreaterThanOrEqual(32);
    const minutes = (Date.parse(enrollment.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(14);
    expect(minutes).toBeLessThanOrEqual(15);
    expect(enrollment.installCommand).toContain(enrollment.token);
    const stored = await t.orm.em.getConnection().execute('select token_hash from agent_enrollments');
    expect(JSON.stringify(stored)).not.toContain(enrollment.token);
  });

  it('exchanges the token and a CSR for a certificate bound to the server, whatever name the CSR asks', async () => {
    const id = await createServer('enrolled');
    const enrollment = await issueToken(id);
    const res = await enroll(enrollment.token);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.serverId).toBe(id);
    const cert = new X509Certificate(body.certificatePem);
    expect(cert.subject).toBe(`CN=${id}`);
    expect(cert.checkIssued(new X509Certificate(body.caCertificatePem))).toBe(true);
    const days = (Date.parse(body.notAfter) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
    expect(body.grpcServerName).toBe('berth-control-plane');
  });

  it('refuses a used, an unknown, a superseded and an expired token with the reason', async () => {
    const id = await createServer('tokens');
    const first = await issueToken(id);
    const second = await issueToken(id);
    expect((await enroll(first.token)).json().message).toContain('replaced');
    expect((await enroll(second.token)).statusCode).toBe(201);
    const reused = await enroll(second.token);
    expect(reused.statusCode).toBe(401);
    expect(reused.json().message).toContain('already been used');
    expect((await enroll('berth_e_nonsense')).json().message).toContain('not valid');
    const third = await issueToken(id);
    await t.orm.em.getConnection().execute("update agent_enrollments set expires_at = now() - interval '1 second'");
    expect((await enroll(third.token)).json().message).toContain('expired');
  });

  it('refuses a CSR that is not one, naming the field', async () => {
    const id = await createServer('bad-csr');
    const enrollment = await issueToken(id);
    const res = await t.request({
      method: 'POST',
      url: '/agent/enrollments',
      json: { token: enrollment.token, csrPem: 'garbage', agentVersion: '0.1.0', hostname: 'h' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toBe('csrPem');
  });

  it('refuses an unknown credential kind, and an ssh-private-key without its key, naming the field', async () => {
    const id = await createServer('ssh');
    const post = (credential: Record<string, unknown>) =>
      t.request({ method: 'POST', url: `/servers/${id}/credentials`, token, json: { credential } });
    const unknown = await post({ kind: 'password' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'credential.kind' });
    const keyless = await post({ kind: 'ssh-private-key', username: 'deploy' });
    expect(keyless.statusCode).toBe(400);
    expect(keyless.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'credential.privateKey' });
  });

  it('deletes only a deactivated server, with a matching confirmation; deactivation refuses new tokens', async () => {
    const id = await createServer('retire');
    const early = await t.request({
      method: 'DELETE',
      url: `/servers/${id}`,
      token,
      json: { confirmation: { serverId: id } },
    });
    expect(early.statusCode).toBe(409);
    await t.request({ method: 'POST', url: `/servers/${id}/deactivate`, token, json: { reason: 'old' } });
    const shown = (await t.request({ method: 'GET', url: `/servers/${id}`, token })).json().server;
    expect(shown).toMatchObject({ lifecycleStatus: 'inactive', deactivationReason: 'old' });
    const credential = await t.request({
      method: 'POST',
      url: `/servers/${id}/credentials`,
      token,
      json: { credential: { kind: 'agent-enrollment' } },
    });
    expect(credential.statusCode).toBe(409);
    const wrong = await t.request({
      method: 'DELETE',
      url: `/servers/${id}`,
      token,
      json: { confirmation: { serverId: 'srv-x' } },
    });
    expect(wrong.json().field).toBe('confirmation.serverId');
    const ok = await t.request({
      method: 'DELETE',
      url: `/servers/${id}`,
      token,
      json: { confirmation: { serverId: id } },
    });
    expect(ok.json()).toEqual({ id });
    expect((await t.request({ method: 'GET', url: `/servers/${id}`, token })).statusCode).toBe(404);
  });

  it('reports an unreachable connectivity test with the agent checks skipped when no agent is connected', async () => {
    const id = await createServer('lonely');
    const res = await t.request({ method: 'POST', url: `/servers/${id}/connectivity-tests`, token });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ serverId: id, status: 'unreachable' });
    expect(res.json().checks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['agent-session', 'failed'],
      ['docker-engine', 'skipped'],
      ['edge-proxy', 'skipped'],
    ]);
  });

  it('refuses duplicate names, bad hosts and bad ports', async () => {
    await createServer('unique-name');
    const dup = await t.request({
      method: 'POST',
      url: '/servers',
      token,
      json: { name: 'UNIQUE-NAME', host: 'h', providerKey: 'p' },
    });
    expect(dup.statusCode).toBe(409);
    const host = await t.request({
      method: 'POST',
      url: '/servers',
      token,
      json: { name: 'x', host: 'a b', providerKey: 'p' },
    });
    expect(host.json().field).toBe('host');
    const port = await t.request({
      method: 'POST',
      url: '/servers',
      token,
      json: { name: 'y', host: 'h', providerKey: 'p', port: 70000 },
    });
    expect(port.json().field).toBe('port');
  });
});
