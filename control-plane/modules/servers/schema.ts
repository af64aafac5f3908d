import { Type } from 'typebox';
import { connectionStates, serverLifecycleStatuses, serverWorkloadRoles, sshCredentialKinds } from './entity.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });

/** Target kinds (ENUMS.md targetKinds) and edge proxy kinds (edgeProxyKinds). */
export const targetKinds = ['single-server', 'orchestrator-cluster'] as const;
export const proxyKinds = ['none', 'traefik', 'caddy'] as const;

/** A set of workload roles: known values, no duplicates; returned in canonical order. */
export const WorkloadRoles = Type.Array(Type.Enum(serverWorkloadRoles), {
  uniqueItems: true,
  maxItems: serverWorkloadRoles.length,
  description: `Any of ${serverWorkloadRoles.join(', ')}, each at most once; [] (the default) means general-purpose.`,
});

/** What a server's `credential` section shows: its SSH credential when one is configured, else its agent's. */
export const ServerCredential = Type.Object({
  kind: Type.String({
    examples: ['agent-certificate', 'agent-enrollment', 'local-ssh-agent', 'ssh-private-key', 'stored-ssh-private-key'],
  }),
  credentialId: NullableString,
  credentialName: NullableString,
  username: NullableString,
  publicKeyConfigured: Type.Boolean(),
  privateKeyConfigured: Type.Boolean(),
});

/** A server as lists and `show` return it: the seed's fields plus what the agent reports. */
export const ServerView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  host: Type.String(),
  port: Type.Union([Type.Integer(), Type.Null()]),
  providerKey: Type.String(),
  targetKind: Type.String(),
  workloadRoles: WorkloadRoles,
  lifecycleStatus: Type.Enum(serverLifecycleStatuses),
  deactivatedAt: NullableTimestamp,
  deactivationReason: NullableString,
  edgeProxy: Type.Object({
    kind: Type.String(),
    status: Type.String({ examples: ['pending'] }),
    lastAttemptAt: NullableTimestamp,
    lastSucceededAt: NullableTimestamp,
    lastErrorCode: NullableString,
    lastErrorMessage: NullableString,
    observedAt: NullableTimestamp,
  }),
  credential: ServerCredential,
  createdAt: Type.String({ format: 'date-time' }),
  agent: Type.Object({
    connectionState: Type.Enum(connectionStates),
    lastSeenAt: NullableTimestamp,
    connectedSince: NullableTimestamp,
    agentVersion: NullableString,
    dockerVersion: NullableString,
    dockerReachable: Type.Union([Type.Boolean(), Type.Null()]),
    certificateExpiresAt: NullableTimestamp,
    host: Type.Union([
      Type.Object({
        hostname: Type.String(),
        os: Type.String(),
        kernel: Type.String(),
        arch: Type.String(),
        cpuCount: Type.Integer(),
        memoryBytes: Type.Number(),
      }),
      Type.Null(),
    ]),
  }),
});

const StatusCount = Type.Object({ status: Type.String(), count: Type.Integer() });
export const ServerShow = Type.Object({
  schemaVersion: Type.Literal('servers.show/v1'),
  server: ServerView,
  rollups: Type.Optional(
    Type.Object({
      resources: Type.Object({ total: Type.Integer(), deployedResourceIds: Type.Array(Type.String()) }),
      deployments: Type.Object({
        total: Type.Integer(),
        statusCounts: Type.Array(StatusCount),
        latestDeploymentId: NullableString,
        latestDeploymentStatus: NullableString,
      }),
      domains: Type.Object({
        total: Type.Integer(),
        statusCounts: Type.Array(StatusCount),
        latestDomainBindingId: NullableString,
        latestDomainBindingStatus: NullableString,
      }),
    }),
  ),
  generatedAt: Type.String({ format: 'date-time' }),
});

export const ServerParams = Type.Object({ serverId: Type.String({ minLength: 1, maxLength: 100 }) });
export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});
export const ShowQuery = Type.Object({ includeRollups: Type.Optional(Type.Boolean({ default: true })) });
export const ServerList = Type.Object({ items: Type.Array(ServerView) });
export const EmptyBody = Type.Object({}, { additionalProperties: false });
export const CountResult = Type.Object({ count: Type.Integer() });
export const IdResult = Type.Object({ id: Type.String() });
/** `POST /servers` answers the id and the workload roles as stored. */
export const CreateResult = Type.Object({ id: Type.String(), workloadRoles: WorkloadRoles });

export const CreateBody = Type.Object(
  {
    name: Name,
    host: Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[A-Za-z0-9.:\\[\\]_-]+$',
      description: 'Host name or IP address.',
    }),
    port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Null()])),
    providerKey: Type.String({ minLength: 1, maxLength: 60, examples: ['generic-ssh', 'local-shell'] }),
    targetKind: Type.Optional(Type.Enum(targetKinds)),
    proxyKind: Type.Optional(Type.Enum(proxyKinds, { description: "Berth's default: caddy." })),
    workloadRoles: Type.Optional(WorkloadRoles),
  },
  { additionalProperties: false },
);
export const RenameBody = Type.Object({ name: Name }, { additionalProperties: false });
export const DeactivateBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export const DeleteBody = Type.Object(
  { confirmation: Type.Object({ serverId: Type.String({ minLength: 1 }) }, { additionalProperties: false }) },
  { additionalProperties: false },
);
export const DeleteCheck = Type.Object({
  schemaVersion: Type.Literal('servers.delete-check/v1'),
  serverId: Type.String(),
  lifecycleStatus: Type.String(),
  eligible: Type.Boolean(),
  blockers: Type.Array(
    Type.Object({
      kind: Type.String(),
      relatedEntityId: Type.String(),
      relatedEntityType: Type.String(),
      count: Type.Integer(),
    }),
  ),
  checkedAt: Type.String({ format: 'date-time' }),
});

/** SSH login names: letters, digits, `.`, `_`, `-` (and a trailing `$`, as Samba machine accounts have). */
export const SshUsername = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._][A-Za-z0-9._-]*\\$?$' });
/** Key material: sealed at rest, never returned or logged. */
export const PrivateKeyText = Type.String({
  minLength: 1,
  maxLength: 16384,
  writeOnly: true,
  description: 'A PEM or OpenSSH private key (the whole file). Stored sealed; never returned.',
});
export const PublicKeyText = Type.String({
  minLength: 1,
  maxLength: 8192,
  description: 'One OpenSSH public key line, as in id_ed25519.pub.',
});
export const PassphraseText = Type.String({
  minLength: 1,
  maxLength: 1024,
  writeOnly: true,
  description: "The private key's passphrase, when it is encrypted. Stored sealed; never returned.",
});
/** The kinds `POST /servers/{serverId}/credentials` accepts. */
export const credentialKinds = ['agent-enrollment', ...sshCredentialKinds] as const;
export const CredentialBody = Type.Object(
  {
    credential: Type.Object(
      {
        kind: Type.Enum(credentialKinds),
        username: Type.Optional(SshUsername),
        privateKey: Type.Optional(PrivateKeyText),
        publicKey: Type.Optional(PublicKeyText),
        passphrase: Type.Optional(PassphraseText),
        credentialId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      },
      {
        additionalProperties: false,
        description:
          'agent-enrollment: {kind}. local-ssh-agent: {kind, username?}. ssh-private-key: {kind, privateKey, username?, ' +
          'publicKey?, passphrase?}. stored-ssh-private-key: {kind, credentialId, username?}.',
      },
    ),
  },
  { additionalProperties: false },
);
/** The answer for the SSH kinds: what the server's read model now shows, and what Berth does with it. */
export const SshCredentialConfigured = Type.Object({
  id: Type.String({ description: 'The server id.' }),
  credential: ServerCredential,
  hint: Type.String(),
});
export const EnrollmentIssued = Type.Object({
  id: Type.String(),
  enrollment: Type.Object({
    token: Type.String({ description: 'One-time enrollment token, shown this once.' }),
    expiresAt: Type.String({ format: 'date-time' }),
    installCommand: Type.String(),
    caSha256: Type.String({ description: 'SHA-256 of the agent CA certificate, pinned by the agent.' }),
  }),
});

const Check = Type.Object({
  name: Type.String(),
  status: Type.Enum(['passed', 'failed', 'skipped']),
  message: Type.String(),
  durationMs: Type.Integer(),
  metadata: Type.Record(Type.String(), Type.String()),
});
export const ConnectivityResult = Type.Object({
  serverId: NullableString,
  name: NullableString,
  host: Type.String(),
  port: Type.Union([Type.Integer(), Type.Null()]),
  providerKey: Type.String(),
  checkedAt: Type.String({ format: 'date-time' }),
  status: Type.Enum(['healthy', 'degraded', 'unreachable', 'unknown']),
  checks: Type.Array(Check),
});
export const DraftConnectivityBody = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ minLength: 1, maxLength: 255 }),
        providerKey: Type.String({ minLength: 1, maxLength: 60 }),
        port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Null()])),
        name: Type.Optional(Type.String({ maxLength: 100 })),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: false },
);

/** `POST /agent/enrollments`: the agent's one call before it has a certificate. */
export const EnrollBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    csrPem: Type.String({ minLength: 1, maxLength: 16384 }),
    agentVersion: Type.String({ minLength: 1, maxLength: 40 }),
    hostname: Type.String({ minLength: 1, maxLength: 255 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
export const Enrolled = Type.Object({
  serverId: Type.String(),
  certificatePem: Type.String(),
  caCertificatePem: Type.String(),
  notAfter: Type.String({ format: 'date-time' }),
  grpcUrl: Type.String(),
  grpcServerName: Type.String(),
});
