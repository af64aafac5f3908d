import type { EdgeProxyStatus, Server } from './entity.js';

const proxyUnsupportedKind = 'traefik';

/** The seed's `edgeProxy.status`: as last observed, else what the kind implies before anything was observed. */
export function edgeStatusOf(server: Server): EdgeProxyStatus {
  if (server.proxyKind === proxyUnsupportedKind) return 'failed';
  return server.edgeStatus ?? (server.proxyKind === 'none' ? 'disabled' : 'pending');
}

/**
 * A server's SSH credential as its read model shows it: what is configured, never key material. A stored credential
 * must be loaded (populate `sshCredential`) for its name and public key to show.
 */
export function sshCredentialView(server: Server) {
  const stored = server.sshCredentialKind === 'stored-ssh-private-key' ? server.sshCredential?.unwrap() : undefined;
  return {
    kind: server.sshCredentialKind ?? 'none',
    credentialId: stored ? (server.sshCredential?.id ?? null) : null,
    credentialName: stored?.name ?? null,
    username: server.sshUsername ?? stored?.username ?? null,
    publicKeyConfigured: stored ? stored.publicKey != null : server.sshPublicKey != null,
    privateKeyConfigured: stored !== undefined || server.sealedSshPrivateKey != null,
  };
}

/** The seed's server read model plus the agent's state. */
export function toServerView(server: Server) {
  const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
  const proxyUnsupported = server.proxyKind === proxyUnsupportedKind;
  return {
    id: server.id,
    name: server.name,
    host: server.host,
    port: server.port ?? null,
    providerKey: server.providerKey,
    targetKind: server.targetKind,
    workloadRoles: server.workloadRoles,
    lifecycleStatus: server.lifecycleStatus,
    deactivatedAt: iso(server.deactivatedAt),
    deactivationReason: server.deactivationReason ?? null,
    edgeProxy: {
      kind: server.proxyKind,
      status: edgeStatusOf(server),
      lastAttemptAt: iso(server.edgeLastAttemptAt),
      lastSucceededAt: iso(server.edgeLastSucceededAt),
      lastErrorCode: proxyUnsupported ? 'proxy_kind_unsupported' : (server.edgeLastErrorCode ?? null),
      lastErrorMessage: proxyUnsupported
        ? 'Berth manages Caddy only; choose proxyKind "caddy" or "none".'
        : (server.edgeLastErrorMessage ?? null),
      // When an agent last reported what Caddy serves (a sync answered, or a read-back).
      observedAt: iso(server.edgeObservedAt),
    },
    // Always an object, so clients need no null check: before enrollment nothing is configured.
    credential: server.sshCredentialKind
      ? sshCredentialView(server)
      : server.certificateSerial
        ? {
            kind: 'agent-certificate',
            credentialId: server.certificateSerial,
            credentialName: `agent certificate of ${server.id}`,
            username: null,
            publicKeyConfigured: true,
            privateKeyConfigured: true,
          }
        : {
            kind: 'agent-enrollment',
            credentialId: null,
            credentialName: null,
            username: null,
            publicKeyConfigured: false,
            privateKeyConfigured: false,
          },
    createdAt: server.createdAt.toISOString(),
    agent: {
      connectionState: server.connectionState,
      lastSeenAt: iso(server.lastSeenAt),
      connectedSince: iso(server.connectedSince),
      agentVersion: server.agentVersion ?? null,
      dockerVersion: server.dockerVersion ?? null,
      dockerReachable: server.dockerReachable ?? null,
      certificateExpiresAt: iso(server.certificateNotAfter),
      host: server.hostFacts ?? null,
    },
  };
}
