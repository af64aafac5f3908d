import { expect } from 'vitest';
import { pemKey } from '../../helpers/ssh-keys.js';
import { createServer, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

let sshCredentialCounter = 0;

/** A stored SSH credential; `inUse` has a server reference it, so its usage lists have an item. */
async function createSshCredential(options: { inUse?: boolean } = {}): Promise<string> {
  sshCredentialCounter += 1;
  const { privateKey, publicKey } = pemKey();
  const res = await request({
    method: 'POST',
    url: '/credentials/ssh',
    json: {
      name: `contract-key-${sshCredentialCounter}`,
      kind: 'ssh-private-key',
      username: 'deploy',
      privateKey,
      publicKey,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  if (options.inUse) {
    const used = await request({
      method: 'POST',
      url: `/servers/${await createServer()}/credentials`,
      json: { credential: { kind: 'stored-ssh-private-key', credentialId: id } },
    });
    expect(used.statusCode, used.body).toBe(200);
  }
  return id;
}

/** Stored SSH credentials, kept for later use by servers. */
describeSeedScenarios('SSH credentials', {
  'GET /credentials/ssh': async () => {
    await createSshCredential();
    return request({ method: 'GET', url: '/credentials/ssh?limit=5' });
  },
  'POST /credentials/ssh': async () =>
    request({
      method: 'POST',
      url: '/credentials/ssh',
      json: { name: 'seed-create-key', kind: 'ssh-private-key', privateKey: pemKey().privateKey },
    }),
  'GET /credentials/ssh/{credentialId}': async () =>
    request({ method: 'GET', url: `/credentials/ssh/${await createSshCredential({ inUse: true })}?includeUsage=true` }),
  'DELETE /credentials/ssh/{credentialId}': async () => {
    const id = await createSshCredential();
    return request({ method: 'DELETE', url: `/credentials/ssh/${id}`, json: { confirmation: { credentialId: id } } });
  },
  'POST /credentials/ssh/{credentialId}/rotate': async () => {
    const id = await createSshCredential({ inUse: true });
    return request({
      method: 'POST',
      url: `/credentials/ssh/${id}/rotate`,
      json: { privateKey: pemKey().privateKey, confirmation: { credentialId: id, acknowledgeServerUsage: true } },
    });
  },
});
