import type { EntityManager } from '@mikro-orm/postgresql';
import type { Hello } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { type HostFacts, Server } from '../modules/servers/entity.js';
import { type CredentialProblem, credentialProblem, type PeerIdentity } from './identity.js';

// Lengths of the servers table's columns.
const versionLength = 40;

/** Why a Hello is malformed (the stream then ends with INVALID_ARGUMENT), or undefined when it is fine. */
export function invalidHello(hello: Hello): string | undefined {
  if (hello.agentVersion === '' || hello.agentVersion.length > versionLength) {
    return `agent_version must be 1 to ${versionLength} characters`;
  }
  if ((hello.docker?.version.length ?? 0) > versionLength) {
    return `docker.version must be at most ${versionLength} characters`;
  }
  return undefined;
}

function hostFacts(hello: Hello): HostFacts | null {
  const host = hello.host;
  if (host === undefined) return null;
  const { hostname, os, kernel, arch, cpuCount } = host;
  return { hostname, os, kernel, arch, cpuCount, memoryBytes: Number(host.memoryBytes) };
}

/**
 * Checks the peer's credentials against its server row and, when they hold, records the new connection on the
 * row: `connected`, `lastSeenAt` and `connectedSince` = `now`, and the facts the Hello reports. Returns the
 * problem instead when the server may not connect; the row is then left as it was.
 */
export async function acceptHello(
  em: EntityManager,
  peer: PeerIdentity,
  hello: Hello,
  now: Date,
): Promise<CredentialProblem | null> {
  const server = await em.findOne(Server, peer.serverId, {
    fields: ['lifecycleStatus', 'credentialsRevokedAt', 'certificateSerial'],
  });
  const problem = credentialProblem(server, peer);
  if (problem !== null) return problem;
  const docker = hello.docker;
  // Conditional on `active`, so a deactivation between the read and this write still wins.
  const changed = await em.nativeUpdate(
    Server,
    { id: peer.serverId, lifecycleStatus: 'active' },
    {
      connectionState: 'connected',
      lastSeenAt: now,
      connectedSince: now,
      agentVersion: hello.agentVersion,
      dockerReachable: docker?.reachable ?? null,
      dockerVersion: docker?.reachable ? docker.version || null : null,
      hostFacts: hostFacts(hello),
    },
  );
  return changed === 0 ? { kind: 'forbidden_scope', reason: 'the server was deactivated' } : null;
}

/**
 * Records that the session that connected at `connectedSince` heard from its agent at `seenAt`. Also restores
 * `connected` when a sweep elsewhere judged the row stale while the stream was alive. A row that a newer
 * session has taken over (another `connectedSince`) is left alone.
 */
export async function recordSeen(
  em: EntityManager,
  serverId: string,
  connectedSince: Date,
  seenAt: Date,
): Promise<void> {
  await em.nativeUpdate(
    Server,
    { id: serverId, connectedSince, lifecycleStatus: 'active' },
    { lastSeenAt: seenAt, connectionState: 'connected' },
  );
}

/**
 * Marks the server `unreachable` after the stream that connected at `connectedSince` ended, unless a newer
 * session (in this process or on another replica) has taken the row over. Returns whether the row changed.
 */
export async function recordDisconnect(
  em: EntityManager,
  serverId: string,
  connectedSince: Date,
  lastSeenAt: Date,
): Promise<boolean> {
  const changed = await em.nativeUpdate(
    Server,
    { id: serverId, connectionState: 'connected', connectedSince },
    { connectionState: 'unreachable', lastSeenAt },
  );
  return changed > 0;
}
