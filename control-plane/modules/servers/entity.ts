import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../identity/entity.js';

/** Server lifecycle (ENUMS.md deploymentTargetLifecycleStatuses); `deleted` servers are removed. */
export const serverLifecycleStatuses = ['active', 'inactive', 'deleted'] as const;
/** What the agent link says about a server. */
export const connectionStates = ['never-connected', 'connected', 'unreachable'] as const;
export type ConnectionState = (typeof connectionStates)[number];
/** How a server's SSH credential is given: the host's agent, a key sent inline, or a stored credential. */
export const sshCredentialKinds = ['local-ssh-agent', 'ssh-private-key', 'stored-ssh-private-key'] as const;
export type SshCredentialKind = (typeof sshCredentialKinds)[number];

/**
 * What a server is for (the reference's server workload roles), in their canonical order. An empty set means
 * general-purpose: no restriction by role.
 */
export const serverWorkloadRoles = ['deployment-runtime', 'artifact-builder', 'sandbox-worker'] as const;
export type ServerWorkloadRole = (typeof serverWorkloadRoles)[number];

/** What the seed's `edgeProxy.status` says: nothing applied yet, being started, serving, failing, or turned off. */
export const edgeProxyStatuses = ['pending', 'starting', 'ready', 'failed', 'disabled'] as const;
export type EdgeProxyStatus = (typeof edgeProxyStatuses)[number];

/** Facts the agent reports about its host (hello and the host.facts command). */
export interface HostFacts {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpuCount: number;
  memoryBytes: number;
}

/** A deployment target: one machine running the Berth agent. */
export const Server = defineEntity({
  name: 'Server',
  tableName: 'servers',
  uniques: [{ properties: ['organization', 'nameKey'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    name: p.string().length(100),
    nameKey: p.string().length(100),
    host: p.string().length(255),
    port: p.integer().nullable(),
    providerKey: p.string().length(60),
    targetKind: p.string().length(40),
    proxyKind: p.string().length(20),
    // Duplicate-free, in the canonical order of serverWorkloadRoles; [] is general-purpose.
    workloadRoles: p.json<ServerWorkloadRole[]>().default('[]'),
    lifecycleStatus: p.enum([...serverLifecycleStatuses]).default('active'),
    deactivatedAt: p.datetime().nullable(),
    deactivationReason: p.string().length(500).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    // The agent link.
    connectionState: p.enum([...connectionStates]).default('never-connected'),
    lastSeenAt: p.datetime().nullable(),
    connectedSince: p.datetime().nullable(),
    agentVersion: p.string().length(40).nullable(),
    dockerVersion: p.string().length(40).nullable(),
    dockerReachable: p.boolean().nullable(),
    hostFacts: p.json<HostFacts>().nullable(),
    // Client certificates issued before this instant are refused (a new credential or a deactivation revokes).
    credentialsRevokedAt: p.datetime().nullable(),
    certificateSerial: p.string().length(64).nullable(),
    certificateNotAfter: p.datetime().nullable(),
    // An SSH credential stored for later use (Berth deploys through the agent and opens no SSH connection yet).
    sshCredentialKind: p.enum([...sshCredentialKinds]).nullable(),
    sshUsername: p.string().length(100).nullable(),
    sshPublicKey: p.text().nullable(),
    sealedSshPrivateKey: p.text().nullable(),
    sealedSshPassphrase: p.text().nullable(),
    sshCredential: () => p.manyToOne(SshCredential).ref().nullable().deleteRule('no action'),
    // The edge proxy as last observed (written by the edge module): see docs/edge-proxy.md.
    edgeStatus: p.enum([...edgeProxyStatuses]).nullable(),
    edgeLastAttemptAt: p.datetime().nullable(),
    edgeLastSucceededAt: p.datetime().nullable(),
    edgeLastErrorCode: p.string().length(60).nullable(),
    edgeLastErrorMessage: p.string().length(1000).nullable(),
    edgeObservedAt: p.datetime().nullable(),
    // The edge document: its version grows with every change; its hash tells a change from a re-publish.
    edgeDocumentVersion: p.integer().default(0),
    edgeDocumentHash: p.string().length(64).nullable(),
    edgeAppliedVersion: p.integer().default(0),
    edgeHttpPort: p.integer().nullable(),
    edgeHttpsPort: p.integer().nullable(),
    version: p.integer().version(),
  },
});
export type Server = InferEntity<typeof Server>;

/**
 * A reusable SSH private key (`/credentials/ssh`), referenced by servers with `stored-ssh-private-key`. The key and its
 * passphrase are sealed by the key ring and never leave the control plane through the API.
 */
export const SshCredential = defineEntity({
  name: 'SshCredential',
  tableName: 'ssh_credentials',
  uniques: [{ properties: ['organization', 'nameKey'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    name: p.string().length(100),
    nameKey: p.string().length(100),
    username: p.string().length(100).nullable(),
    publicKey: p.text().nullable(),
    sealedPrivateKey: p.text(),
    sealedPassphrase: p.text().nullable(),
    createdAt: p.datetime(),
    rotatedAt: p.datetime().nullable(),
  },
});
export type SshCredential = InferEntity<typeof SshCredential>;

/** A one-time enrollment token for a server's agent; only its hash is stored. */
export const AgentEnrollment = defineEntity({
  name: 'AgentEnrollment',
  tableName: 'agent_enrollments',
  properties: {
    id: p.string().primary(),
    server: () => p.manyToOne(Server).ref().deleteRule('cascade'),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    // Issuing a newer credential supersedes an unused older token.
    supersededAt: p.datetime().nullable(),
  },
});
export type AgentEnrollment = InferEntity<typeof AgentEnrollment>;
