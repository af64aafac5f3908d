import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { keyLines, opensshKey, pemKey } from '../../../test/helpers/ssh-keys.js';

let t: TestApp;
let token: string;
/** Every answer of this file, scanned at the end for key material. */
const answers: string[] = [];
/** Every secret sent in this file: private keys (their base64 bodies) and passphrases. */
const secrets: string[] = [];

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
});
afterAll(async () => t?.close());

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, json?: unknown): Promise<LightMyRequestResponse> {
  const res = await t.request({ method, url, token, ...(json === undefined ? {} : { json }) });
  answers.push(res.body);
  return res;
}

function secretKey(kind: 'pem' | 'openssh' = 'pem') {
  const key = kind === 'pem' ? pemKey() : opensshKey();
  secrets.push(...keyLines(key.privateKey));
  return key;
}

let serverCounter = 0;
async function createServer(): Promise<string> {
  serverCounter += 1;
  const res = await call('POST', '/servers', {
    name: `ssh-${serverCounter}`,
    host: '10.0.0.5',
    providerKey: 'generic-ssh',
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const configure = (serverId: string, credential: Record<string, unknown>) =>
  call('POST', `/servers/${serverId}/credentials`, { credential });

async function serverRow(id: string) {
  const rows = await t.orm.em.fork().getConnection().execute('select * from servers where id = ?', [id]);
  return rows[0] as Record<string, unknown>;
}

async function storeCredential(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const key = secretKey();
  const res = await call('POST', '/credentials/ssh', {
    name,
    kind: 'ssh-private-key',
    privateKey: key.privateKey,
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

describe('SSH credentials of a server', () => {
  it('stores an ssh-private-key sealed and shows only that it is configured, saying it is not used yet', async () => {
    const id = await createServer();
    const key = secretKey();
    const res = await configure(id, {
      kind: 'ssh-private-key',
      username: 'deploy',
      privateKey: key.privateKey,
      publicKey: key.publicKey,
    });
    expect(res.statusCode, res.body).toBe(200);
    const expected = {
      kind: 'ssh-private-key',
      credentialId: null,
      credentialName: null,
      username: 'deploy',
      publicKeyConfigured: true,
      privateKeyConfigured: true,
    };
    expect(res.json()).toMatchObject({ id, credential: expected });
    expect(res.json().hint).toContain('makes no SSH connection yet');
    expect((await call('GET', `/servers/${id}`)).json().server.credential).toEqual(expected);

    const row = await serverRow(id);
    expect(row['ssh_credential_kind']).toBe('ssh-private-key');
    expect(String(row['sealed_ssh_private_key'])).toMatch(/^v2\./);
    expect(t.keyRing.open(String(row['sealed_ssh_private_key']))).toBe(key.privateKey);
    const lines = keyLines(key.privateKey);
    expect(lines.length).toBeGreaterThan(0);
    // The scan below would see the key if it were there: JSON keeps each base64 line whole.
    expect(JSON.stringify({ leaked: key.privateKey })).toContain(lines[0]);
    for (const line of lines) expect(JSON.stringify(row)).not.toContain(line);
  });

  it('accepts an OpenSSH key, and an encrypted key only with the passphrase that opens it (sealed too)', async () => {
    const id = await createServer();
    expect(
      (await configure(id, { kind: 'ssh-private-key', privateKey: secretKey('openssh').privateKey })).statusCode,
    ).toBe(200);
    const encrypted = pemKey('a passphrase nobody may read');
    secrets.push(...keyLines(encrypted.privateKey), 'a passphrase nobody may read');
    const missing = await configure(id, { kind: 'ssh-private-key', privateKey: encrypted.privateKey });
    expect(missing.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'credential.passphrase' });
    const wrong = await configure(id, {
      kind: 'ssh-private-key',
      privateKey: encrypted.privateKey,
      passphrase: 'nope',
    });
    expect(wrong.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'credential.passphrase' });
    const ok = await configure(id, {
      kind: 'ssh-private-key',
      privateKey: encrypted.privateKey,
      passphrase: 'a passphrase nobody may read',
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const row = await serverRow(id);
    expect(t.keyRing.open(String(row['sealed_ssh_passphrase']))).toBe('a passphrase nobody may read');
  });

  it('refuses a private key that is not one, naming the field and never echoing the value', async () => {
    const id = await createServer();
    const notAKey = 'my-database-password-XYZZY-1234';
    secrets.push(notAKey);
    for (const privateKey of [notAKey, `-----BEGIN PRIVATE KEY-----\n${notAKey}\n-----END PRIVATE KEY-----`]) {
      const res = await configure(id, { kind: 'ssh-private-key', username: 'root', privateKey });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'credential.privateKey' });
      expect(res.json().hint).toContain('BEGIN');
    }
    expect((await serverRow(id))['ssh_credential_kind']).toBeNull();
  });

  it('refuses a field the kind does not take, and a public key that is not one', async () => {
    const id = await createServer();
    const key = secretKey();
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: 'local-ssh-agent', privateKey: key.privateKey }, 'credential.privateKey'],
      [{ kind: 'agent-enrollment', username: 'root' }, 'credential.username'],
      [{ kind: 'stored-ssh-private-key', credentialId: 'crd-x', passphrase: 'p' }, 'credential.passphrase'],
      [{ kind: 'stored-ssh-private-key' }, 'credential.credentialId'],
      [{ kind: 'ssh-private-key', privateKey: key.privateKey, publicKey: key.privateKey }, 'credential.publicKey'],
      [{ kind: 'local-ssh-agent', username: 'no spaces' }, 'credential.username'],
      [{ kind: 'local-ssh-agent', color: 'blue' }, 'credential.color'],
    ];
    for (const [credential, field] of cases) {
      const res = await configure(id, credential);
      expect(res.statusCode, JSON.stringify(credential)).toBe(400);
      expect(res.json(), JSON.stringify(credential)).toMatchObject({ code: 'VALIDATION_ERROR', field });
    }
  });

  it("uses the control plane host's SSH agent with local-ssh-agent, and drops a key stored before", async () => {
    const id = await createServer();
    await configure(id, { kind: 'ssh-private-key', privateKey: secretKey().privateKey });
    const res = await configure(id, { kind: 'local-ssh-agent', username: 'ubuntu' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().credential).toEqual({
      kind: 'local-ssh-agent',
      credentialId: null,
      credentialName: null,
      username: 'ubuntu',
      publicKeyConfigured: false,
      privateKeyConfigured: false,
    });
    const row = await serverRow(id);
    expect([row['sealed_ssh_private_key'], row['sealed_ssh_passphrase'], row['ssh_public_key']]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it("leaves the agent's credential alone: no revocation, and enrollment still answers its token", async () => {
    const id = await createServer();
    await configure(id, { kind: 'local-ssh-agent' });
    expect((await serverRow(id))['credentials_revoked_at']).toBeNull();
    const enrollment = await configure(id, { kind: 'agent-enrollment' });
    expect(enrollment.statusCode, enrollment.body).toBe(201);
    expect(enrollment.json().enrollment.token).toMatch(/^berth_e_/);
  });

  it('refuses a credential for an inactive server and an unknown server', async () => {
    const id = await createServer();
    await call('POST', `/servers/${id}/deactivate`, {});
    expect((await configure(id, { kind: 'local-ssh-agent' })).statusCode).toBe(409);
    expect((await configure('srv-unknown', { kind: 'local-ssh-agent' })).statusCode).toBe(404);
  });
});

describe('stored SSH credentials (/credentials/ssh)', () => {
  it('stores a credential sealed, lists it masked, and lets a server reference it', async () => {
    const credentialId = await storeCredential('ops key', { username: 'ops', publicKey: pemKey().publicKey });
    expect(credentialId).toMatch(/^crd-/);
    const list = (await call('GET', '/credentials/ssh')).json();
    expect(list.items).toContainEqual(
      expect.objectContaining({ id: credentialId, name: 'ops key', username: 'ops', privateKeyConfigured: true }),
    );
    const rows = await t.orm.em
      .fork()
      .getConnection()
      .execute('select sealed_private_key from ssh_credentials where id = ?', [credentialId]);
    expect(String(rows[0].sealed_private_key)).toMatch(/^v2\./);

    const serverId = await createServer();
    const res = await configure(serverId, { kind: 'stored-ssh-private-key', credentialId, username: 'root' });
    expect(res.statusCode, res.body).toBe(200);
    const shown = (await call('GET', `/servers/${serverId}`)).json().server.credential;
    expect(shown).toEqual({
      kind: 'stored-ssh-private-key',
      credentialId,
      credentialName: 'ops key',
      username: 'root',
      publicKeyConfigured: true,
      privateKeyConfigured: true,
    });
    const detail = (await call('GET', `/credentials/ssh/${credentialId}`)).json();
    expect(detail.usage).toMatchObject({ totalServers: 1, activeServers: 1, inactiveServers: 0 });
    expect(detail.usage.servers[0]).toMatchObject({ serverId, username: 'root', host: '10.0.0.5' });
    expect((await call('GET', `/credentials/ssh/${credentialId}?includeUsage=false`)).json().usage).toBeUndefined();
  });

  it('refuses an unknown stored credential (404 on credential.credentialId), a duplicate name and a bad key', async () => {
    const serverId = await createServer();
    const unknown = await configure(serverId, { kind: 'stored-ssh-private-key', credentialId: 'crd-missing' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().field).toBe('credential.credentialId');
    await storeCredential('twice');
    const dup = await call('POST', '/credentials/ssh', { name: 'TWICE', privateKey: secretKey().privateKey });
    expect(dup.statusCode).toBe(409);
    const bad = await call('POST', '/credentials/ssh', { name: 'bad', privateKey: 'not a key' });
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'privateKey' });
  });

  it('deletes a credential only when no server uses it, with a matching confirmation', async () => {
    const credentialId = await storeCredential('to delete');
    const serverId = await createServer();
    await configure(serverId, { kind: 'stored-ssh-private-key', credentialId });
    const del = (confirmed: string) =>
      call('DELETE', `/credentials/ssh/${credentialId}`, { confirmation: { credentialId: confirmed } });
    expect((await del('crd-other')).json().field).toBe('confirmation.credentialId');
    const used = await del(credentialId);
    expect(used.statusCode).toBe(409);
    expect(used.json().details.serverIds).toEqual([serverId]);
    await configure(serverId, { kind: 'local-ssh-agent' });
    expect((await del(credentialId)).json()).toEqual({ id: credentialId });
    expect((await call('GET', `/credentials/ssh/${credentialId}`)).statusCode).toBe(404);
  });

  it('rotates a key in place once the servers using it are acknowledged', async () => {
    const credentialId = await storeCredential('rotating', { username: 'ops' });
    const serverId = await createServer();
    await configure(serverId, { kind: 'stored-ssh-private-key', credentialId });
    const next = secretKey('openssh');
    const rotate = (confirmation: Record<string, unknown>) =>
      call('POST', `/credentials/ssh/${credentialId}/rotate`, { privateKey: next.privateKey, confirmation });
    const unacknowledged = await rotate({ credentialId });
    expect(unacknowledged.json()).toMatchObject({ field: 'confirmation.acknowledgeServerUsage' });
    const res = await rotate({ credentialId, acknowledgeServerUsage: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      schemaVersion: 'credentials.rotate-ssh/v1',
      credential: {
        id: credentialId,
        usernameConfigured: true,
        publicKeyConfigured: false,
        privateKeyConfigured: true,
      },
      affectedUsage: { totalServers: 1, servers: [{ serverId }] },
    });
    const rows = await t.orm.em
      .fork()
      .getConnection()
      .execute('select sealed_private_key, rotated_at from ssh_credentials where id = ?', [credentialId]);
    expect(t.keyRing.open(rows[0].sealed_private_key)).toBe(next.privateKey);
    expect(rows[0].rotated_at).not.toBeNull();
  });
});

describe('key material', () => {
  it('never appears in an answer, a log line or a database row', async () => {
    expect(secrets.length).toBeGreaterThan(5);
    const dump = await t.orm.em
      .fork()
      .getConnection()
      .execute(
        "select string_agg(t::text, '\n') as text from (select row_to_json(s)::text as t from servers s union all select row_to_json(c)::text from ssh_credentials c) x",
      );
    const places = { answers: answers.join('\n'), logs: t.logs.join('\n'), database: String(dump[0].text) };
    expect(places.logs.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      for (const [where, text] of Object.entries(places)) expect(text.includes(secret), `${where}`).toBe(false);
    }
  });
});
