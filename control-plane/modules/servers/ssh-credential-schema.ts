import { Type } from 'typebox';
import { serverLifecycleStatuses } from './entity.js';
import { PassphraseText, PrivateKeyText, PublicKeyText, SshUsername } from './schema.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });
const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Accepted; the operation is idempotent by itself or refuses a repeat.',
});
const ConfirmedId = Type.String({ minLength: 1, maxLength: 100 });

/** A stored SSH credential as every read shows it: what is configured, never the key. */
export const SshCredentialSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Literal('ssh-private-key'),
  username: NullableString,
  publicKeyConfigured: Type.Boolean(),
  privateKeyConfigured: Type.Boolean(),
  passphraseConfigured: Type.Boolean(),
  createdAt: Timestamp,
  rotatedAt: Type.Union([Timestamp, Type.Null()]),
});

/** The servers that reference a stored credential. */
export const SshCredentialUsage = Type.Object({
  totalServers: Type.Integer(),
  activeServers: Type.Integer(),
  inactiveServers: Type.Integer(),
  servers: Type.Array(
    Type.Object({
      serverId: Type.String(),
      serverName: Type.String(),
      lifecycleStatus: Type.Enum(serverLifecycleStatuses),
      providerKey: Type.String(),
      host: Type.String(),
      username: NullableString,
    }),
  ),
});

export const CredentialParams = Type.Object({ credentialId: Type.String({ minLength: 1, maxLength: 100 }) });
export const CredentialListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});
export const CredentialShowQuery = Type.Object({ includeUsage: Type.Optional(Type.Boolean({ default: true })) });
export const SshCredentialList = Type.Object({ items: Type.Array(SshCredentialSummary) });
export const SshCredentialShow = Type.Object({
  schemaVersion: Type.Literal('credentials.show/v1'),
  credential: SshCredentialSummary,
  usage: Type.Optional(SshCredentialUsage),
  generatedAt: Timestamp,
});

export const CreateSshCredentialBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    kind: Type.Optional(Type.Literal('ssh-private-key')),
    username: Type.Optional(SshUsername),
    privateKey: PrivateKeyText,
    publicKey: Type.Optional(PublicKeyText),
    passphrase: Type.Optional(PassphraseText),
  },
  { additionalProperties: false },
);
export const DeleteSshCredentialBody = Type.Object(
  {
    confirmation: Type.Object({ credentialId: ConfirmedId }, { additionalProperties: false }),
    idempotencyKey: Type.Optional(IdempotencyKey),
  },
  { additionalProperties: false },
);
export const RotateSshCredentialBody = Type.Object(
  {
    privateKey: PrivateKeyText,
    publicKey: Type.Optional(
      Type.Union([PublicKeyText, Type.Null()], { description: "The new key's public key; omitted or null clears it." }),
    ),
    passphrase: Type.Optional(Type.Union([PassphraseText, Type.Null()])),
    username: Type.Optional(
      Type.Union([SshUsername, Type.Null()], { description: 'Omitted keeps the username; null clears it.' }),
    ),
    confirmation: Type.Object(
      {
        credentialId: ConfirmedId,
        acknowledgeServerUsage: Type.Optional(
          Type.Boolean({ description: 'Required (true) when servers use the credential: they all get the new key.' }),
        ),
      },
      { additionalProperties: false },
    ),
    idempotencyKey: Type.Optional(IdempotencyKey),
  },
  { additionalProperties: false },
);
export const RotatedSshCredential = Type.Object({
  schemaVersion: Type.Literal('credentials.rotate-ssh/v1'),
  credential: Type.Object({
    id: Type.String(),
    kind: Type.Literal('ssh-private-key'),
    usernameConfigured: Type.Boolean(),
    publicKeyConfigured: Type.Boolean(),
    privateKeyConfigured: Type.Boolean(),
    rotatedAt: Timestamp,
  }),
  affectedUsage: SshCredentialUsage,
});
