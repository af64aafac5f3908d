import { ref } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { flushUniqueName, requireConfirmation } from '../../guards.js';
import type { KeyRing } from '../../secrets/key-ring.js';
import type { Caller } from '../identity/auth-context.js';
import { Server, SshCredential, type SshCredentialKind } from './entity.js';
import type { credentialKinds } from './schema.js';
import type { ServerService } from './service.js';
import { checkPrivateKey, checkPublicKey, type FieldPrefix } from './ssh-key.js';
import { sshCredentialView } from './view.js';

/** The `credential` object of `POST /servers/{serverId}/credentials`, as its schema admits it. */
export interface CredentialInput {
  kind: (typeof credentialKinds)[number];
  username?: string;
  privateKey?: string;
  publicKey?: string;
  passphrase?: string;
  credentialId?: string;
}

/** What `POST /credentials/ssh` accepts. */
export interface CreateSshCredentialInput {
  name: string;
  username?: string;
  privateKey: string;
  publicKey?: string;
  passphrase?: string;
}

/** What `POST /credentials/ssh/{credentialId}/rotate` accepts. */
export interface RotateSshCredentialInput {
  privateKey: string;
  publicKey?: string | null;
  passphrase?: string | null;
  username?: string | null;
  confirmation: { credentialId: string; acknowledgeServerUsage?: boolean };
}

const fieldsOfKind: Record<CredentialInput['kind'], readonly string[]> = {
  'agent-enrollment': [],
  'local-ssh-agent': ['username'],
  'ssh-private-key': ['username', 'privateKey', 'publicKey', 'passphrase'],
  'stored-ssh-private-key': ['credentialId', 'username'],
};

/** Refuses a field that the credential's kind does not take (a private key sent with `local-ssh-agent`, say). */
export function checkCredentialFields(credential: CredentialInput): void {
  const allowed = fieldsOfKind[credential.kind];
  for (const field of Object.keys(credential)) {
    if (field === 'kind' || allowed.includes(field)) continue;
    throw new AppError('validation_failed', `Credential kind "${credential.kind}" does not take "${field}".`, {
      field: `credential.${field}`,
      hint: `Fields of ${credential.kind}: ${['kind', ...allowed].join(', ')}.`,
    });
  }
}

/** Said with every SSH credential Berth accepts, because it is true: nothing uses it yet. */
export const storedForLaterHint =
  'Stored for later use: Berth deploys through its agent and makes no SSH connection yet, so this credential is not ' +
  'used until SSH support arrives. To run deployments on this server, enroll its agent with ' +
  '{"credential": {"kind": "agent-enrollment"}}.';

/** Dependencies of {@link createSshCredentialService}. */
export interface SshCredentialServiceOptions {
  now: Clock;
  keyRing: Pick<KeyRing, 'seal'>;
  servers: Pick<ServerService, 'load'>;
}

/**
 * SSH credentials: a server's own (`local-ssh-agent`, an inline `ssh-private-key`, or a reference to a stored one) and
 * the reusable ones of `/credentials/ssh`. Private keys and passphrases are sealed by the key ring before they reach
 * the database and are never returned. Berth opens no SSH connection yet; these are stored for later use.
 */
export function createSshCredentialService({ now, keyRing, servers }: SshCredentialServiceOptions) {
  const sealKey = (
    privateKey: string,
    passphrase: string | undefined,
    publicKey: string | undefined,
    at: FieldPrefix,
  ) => {
    checkPrivateKey(privateKey, passphrase, at);
    if (publicKey !== undefined) checkPublicKey(publicKey, at);
    return {
      sealedPrivateKey: keyRing.seal(privateKey),
      sealedPassphrase: passphrase === undefined ? null : keyRing.seal(passphrase),
    };
  };

  async function loadCredential(em: EntityManager, auth: Caller, credentialId: string, field: string) {
    const credential = await em.findOne(SshCredential, { id: credentialId, organization: auth.organizationId });
    if (credential === null) throw notFound('SSH credential', credentialId, field);
    return credential;
  }

  async function usageOf(em: EntityManager, auth: Caller, credential: SshCredential) {
    const users = await em.find(
      Server,
      { organization: auth.organizationId, sshCredential: credential.id },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    const active = users.filter((s) => s.lifecycleStatus === 'active').length;
    return {
      totalServers: users.length,
      activeServers: active,
      inactiveServers: users.length - active,
      servers: users.map((s) => ({
        serverId: s.id,
        serverName: s.name,
        lifecycleStatus: s.lifecycleStatus,
        providerKey: s.providerKey,
        host: s.host,
        username: s.sshUsername ?? credential.username ?? null,
      })),
    };
  }

  const summary = (c: SshCredential) => ({
    id: c.id,
    name: c.name,
    kind: 'ssh-private-key' as const,
    username: c.username ?? null,
    publicKeyConfigured: c.publicKey != null,
    privateKeyConfigured: true,
    passphraseConfigured: c.sealedPassphrase != null,
    createdAt: c.createdAt.toISOString(),
    rotatedAt: c.rotatedAt?.toISOString() ?? null,
  });

  return {
    /** Sets a server's SSH credential, replacing the one before; the agent and its certificate are untouched. */
    async configureServer(em: EntityManager, auth: Caller, serverId: string, input: CredentialInput) {
      const kind = input.kind as SshCredentialKind;
      const server = await servers.load(em, auth, serverId);
      if (server.lifecycleStatus !== 'active') {
        throw new AppError(
          'conflict',
          `Server "${serverId}" is ${server.lifecycleStatus}: it cannot get a credential.`,
        );
      }
      let key = { sealedPrivateKey: null as string | null, sealedPassphrase: null as string | null };
      let stored: SshCredential | null = null;
      if (kind === 'ssh-private-key') {
        if (input.privateKey === undefined) {
          throw new AppError('validation_failed', 'Credential kind "ssh-private-key" needs the private key.', {
            field: 'credential.privateKey',
            hint: 'Send the whole key file in credential.privateKey, or store it once with POST /credentials/ssh.',
          });
        }
        key = sealKey(input.privateKey, input.passphrase, input.publicKey, 'credential.');
      } else if (kind === 'stored-ssh-private-key') {
        if (input.credentialId === undefined) {
          throw new AppError('validation_failed', 'Credential kind "stored-ssh-private-key" needs a credentialId.', {
            field: 'credential.credentialId',
            hint: 'GET /credentials/ssh lists the stored credentials; POST /credentials/ssh stores one.',
          });
        }
        stored = await loadCredential(em, auth, input.credentialId, 'credential.credentialId');
      }
      server.sshCredentialKind = kind;
      server.sshUsername = input.username ?? null;
      server.sshPublicKey = kind === 'ssh-private-key' ? (input.publicKey ?? null) : null;
      server.sealedSshPrivateKey = key.sealedPrivateKey;
      server.sealedSshPassphrase = key.sealedPassphrase;
      server.sshCredential = stored === null ? null : ref(stored);
      server.updatedAt = now();
      await em.flush();
      return { id: server.id, credential: sshCredentialView(server), hint: storedForLaterHint };
    },

    async list(em: EntityManager, auth: Caller, limit = 100) {
      const items = await em.find(
        SshCredential,
        { organization: auth.organizationId },
        { orderBy: { createdAt: 'asc', id: 'asc' }, limit },
      );
      return { items: items.map(summary) };
    },

    async show(em: EntityManager, auth: Caller, credentialId: string, includeUsage = true) {
      const credential = await loadCredential(em, auth, credentialId, 'credentialId');
      return {
        schemaVersion: 'credentials.show/v1' as const,
        credential: summary(credential),
        ...(includeUsage ? { usage: await usageOf(em, auth, credential) } : {}),
        generatedAt: now().toISOString(),
      };
    },

    async create(em: EntityManager, auth: Caller, input: CreateSshCredentialInput) {
      const name = input.name.trim();
      const credential = em.create(SshCredential, {
        id: newId('sshCredential'),
        organization: auth.organizationId,
        name,
        nameKey: name.toLowerCase(),
        username: input.username ?? null,
        publicKey: input.publicKey ?? null,
        ...sealKey(input.privateKey, input.passphrase, input.publicKey, ''),
        createdAt: now(),
      });
      await flushUniqueName(
        em,
        () =>
          new AppError('conflict', `An SSH credential named "${name}" already exists in this organization.`, {
            field: 'name',
            hint: 'Credential names are unique per organization, ignoring case.',
          }),
      );
      return { id: credential.id };
    },

    /** Deletes a stored credential that no server (active or inactive) references. */
    async remove(em: EntityManager, auth: Caller, credentialId: string, confirmedId: string) {
      const credential = await loadCredential(em, auth, credentialId, 'credentialId');
      requireConfirmation('credentialId', credentialId, confirmedId, 'SSH credential being deleted');
      const usage = await usageOf(em, auth, credential);
      if (usage.totalServers > 0) {
        throw new AppError('conflict', `SSH credential "${credentialId}" is used by ${usage.totalServers} server(s).`, {
          hint: 'Give those servers another credential with POST /servers/{serverId}/credentials first.',
          details: { serverIds: usage.servers.map((s) => s.serverId) },
        });
      }
      await em.nativeDelete(SshCredential, { id: credentialId, organization: auth.organizationId });
      return { id: credentialId };
    },

    /** Replaces the key in place; every server that references the credential gets the new key. */
    async rotate(em: EntityManager, auth: Caller, credentialId: string, input: RotateSshCredentialInput) {
      const credential = await loadCredential(em, auth, credentialId, 'credentialId');
      requireConfirmation(
        'credentialId',
        credentialId,
        input.confirmation.credentialId,
        'SSH credential being rotated',
      );
      const sealed = sealKey(input.privateKey, input.passphrase ?? undefined, input.publicKey ?? undefined, '');
      const usage = await usageOf(em, auth, credential);
      if (usage.totalServers > 0 && input.confirmation.acknowledgeServerUsage !== true) {
        throw new AppError('validation_failed', `${usage.totalServers} server(s) use this credential.`, {
          field: 'confirmation.acknowledgeServerUsage',
          hint: 'GET /credentials/ssh/{credentialId} lists them; send "acknowledgeServerUsage": true to rotate anyway.',
          details: { serverIds: usage.servers.map((s) => s.serverId) },
        });
      }
      const at = now();
      Object.assign(credential, sealed, { publicKey: input.publicKey ?? null, rotatedAt: at });
      if (input.username !== undefined) credential.username = input.username;
      await em.flush();
      return {
        schemaVersion: 'credentials.rotate-ssh/v1' as const,
        credential: {
          id: credential.id,
          kind: 'ssh-private-key' as const,
          usernameConfigured: credential.username != null,
          publicKeyConfigured: credential.publicKey != null,
          privateKeyConfigured: true,
          rotatedAt: at.toISOString(),
        },
        affectedUsage: await usageOf(em, auth, credential),
      };
    },
  };
}

/** The SSH credential service's type. */
export type SshCredentialService = ReturnType<typeof createSshCredentialService>;
