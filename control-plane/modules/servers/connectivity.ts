import type { EntityManager } from '@mikro-orm/postgresql';
import { type CommandResultOf, commandKind, type QueuedPayload } from '../../../shared/command-catalogue.js';
import type { Clock } from '../../../shared/time.js';
import type { CommandService } from '../agent-commands/service.js';
import type { Caller } from '../identity/auth-context.js';
import type { ServerService } from './service.js';

const commandTimeoutMs = 10_000;

type Check = {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  message: string;
  durationMs: number;
  metadata: Record<string, string>;
};

/** Connectivity tests, answered by the agent: its session, the Docker engine and the edge proxy. */
export function createConnectivityService(deps: {
  now: Clock;
  servers: Pick<ServerService, 'load'>;
  commands: Pick<CommandService, 'enqueue' | 'waitForOutcome'>;
}) {
  const { now } = deps;

  async function agentCheck<K extends typeof commandKind.dockerInfo | typeof commandKind.proxyCheck>(
    em: EntityManager,
    serverId: string,
    name: string,
    kind: K,
    describe: (r: CommandResultOf<K>) => [boolean, string, Record<string, string>],
  ): Promise<Check> {
    const started = now().getTime();
    const command = await deps.commands.enqueue(em, serverId, kind, {} as QueuedPayload<K>, commandTimeoutMs);
    const outcome = await deps.commands.waitForOutcome(em, command);
    const durationMs = now().getTime() - started;
    if (outcome.state !== 'succeeded') {
      return {
        name,
        status: 'failed',
        message: outcome.errorMessage ?? `The agent did not complete ${kind}.`,
        durationMs,
        metadata: { commandId: command.id, errorCode: outcome.errorCode },
      };
    }
    const [ok, message, metadata] = describe(outcome.result);
    return {
      name,
      status: ok ? 'passed' : 'failed',
      message,
      durationMs,
      metadata: { commandId: command.id, ...metadata },
    };
  }

  return {
    /** Runs the checks through the server's agent; with no live session the agent checks are skipped. */
    async test(em: EntityManager, auth: Caller, serverId: string) {
      const server = await deps.servers.load(em, auth, serverId);
      const checkedAt = now();
      const connected = server.connectionState === 'connected';
      const checks: Check[] = [
        {
          name: 'agent-session',
          status: connected ? 'passed' : 'failed',
          message: connected
            ? `The agent is connected (last seen ${server.lastSeenAt?.toISOString()}).`
            : server.connectionState === 'never-connected'
              ? 'The agent has never connected: enroll it with the command from POST /servers/{serverId}/credentials.'
              : `The agent is unreachable (last seen ${server.lastSeenAt?.toISOString() ?? 'never'}).`,
          durationMs: 0,
          metadata: { connectionState: server.connectionState },
        },
      ];
      if (connected) {
        const [docker, proxy] = await Promise.all([
          agentCheck(em.fork(), server.id, 'docker-engine', commandKind.dockerInfo, (r) => [
            r.reachable,
            r.reachable ? `Docker ${r.version} answers.` : `Docker is not reachable: ${r.error || 'unknown error'}.`,
            { version: r.version, apiVersion: r.apiVersion },
          ]),
          agentCheck(em.fork(), server.id, 'edge-proxy', commandKind.proxyCheck, (r) => [
            r.reachable,
            r.reachable
              ? 'The edge proxy admin API answers.'
              : `The edge proxy is not reachable: ${r.error || 'unknown error'}.`,
            {},
          ]),
        ]);
        checks.push(docker, proxy);
      } else {
        for (const name of ['docker-engine', 'edge-proxy']) {
          checks.push({
            name,
            status: 'skipped',
            message: 'Skipped: the agent is not connected.',
            durationMs: 0,
            metadata: {},
          });
        }
      }
      const failed = checks.filter((c) => c.status === 'failed').length;
      return {
        serverId: server.id,
        name: server.name,
        host: server.host,
        port: server.port ?? null,
        providerKey: server.providerKey,
        checkedAt: checkedAt.toISOString(),
        status: !connected ? ('unreachable' as const) : failed === 0 ? ('healthy' as const) : ('degraded' as const),
        checks,
      };
    },

    /** A server that is not registered has no agent yet: say so instead of probing an arbitrary address. */
    draft(input: { host: string; providerKey: string; port?: number | null; name?: string }) {
      return {
        serverId: null,
        name: input.name ?? null,
        host: input.host,
        port: input.port ?? null,
        providerKey: input.providerKey,
        checkedAt: now().toISOString(),
        status: 'unknown' as const,
        checks: [
          {
            name: 'agent-session',
            status: 'skipped' as const,
            message:
              'Berth reaches servers through their agent: register the server (POST /servers), enroll its agent, then test it.',
            durationMs: 0,
            metadata: {},
          },
        ],
      };
    },
  };
}

/** The connectivity service's type. */
export type ConnectivityService = ReturnType<typeof createConnectivityService>;
