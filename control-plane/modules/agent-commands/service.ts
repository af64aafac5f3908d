import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { knexOf } from '../../db/knex.js';
import { AgentCommand } from './entity.js';

/** The channel on which a queued command is announced (payload: the server id), so whichever replica holds the agent's session sends it. */
export const commandsChannel = 'berth_agent_commands';

/** A finished command as callers see it. */
export interface CommandOutcome {
  commandId: string;
  state: 'succeeded' | 'failed' | 'expired';
  result: unknown;
  errorCode: string | null;
  errorMessage: string | null;
}

/** Dependencies of {@link createCommandService}. */
export interface CommandServiceOptions {
  now: Clock;
  /** How often a waiting caller re-reads the command's row. */
  pollIntervalMs?: number;
}

/** Persisted commands for agents: written to PostgreSQL before anything is sent, announced with NOTIFY. */
export function createCommandService({ now, pollIntervalMs = 50 }: CommandServiceOptions) {
  return {
    /** Queues a command for `serverId`'s agent; it must finish before `timeoutMs` or it expires. */
    async enqueue(
      em: EntityManager,
      serverId: string,
      kind: string,
      payload: Record<string, unknown>,
      timeoutMs: number,
    ) {
      const at = now();
      const command = em.create(AgentCommand, {
        id: newId('command'),
        server: serverId,
        kind,
        payload,
        state: 'queued',
        issuedAt: at,
        deadline: new Date(at.getTime() + timeoutMs),
        sendCount: 0,
      });
      await em.flush();
      // On the caller's transaction when there is one: the notification then goes out when the command is committed
      // (sent earlier, on another connection, the listener would find nothing and wait for the next sweep).
      await knexOf(em).raw('select pg_notify(?, ?)', [commandsChannel, serverId]);
      return command;
    },

    /** Waits until the command has ended (or its deadline has passed by `graceMs`), reading its row. */
    async waitForOutcome(em: EntityManager, commandId: string, graceMs = 1000): Promise<CommandOutcome> {
      for (;;) {
        const command = await em.fork().findOne(AgentCommand, commandId);
        if (command === null) throw new AppError('not_found', `Command "${commandId}" was not found.`);
        const ended = command.state === 'succeeded' || command.state === 'failed' || command.state === 'expired';
        if (ended) {
          return {
            commandId,
            state: command.state as CommandOutcome['state'],
            result: command.result ?? null,
            errorCode: command.errorCode ?? null,
            errorMessage: command.errorMessage ?? null,
          };
        }
        if (now().getTime() > command.deadline.getTime() + graceMs) {
          return {
            commandId,
            state: 'expired',
            result: null,
            errorCode: 'deadline_exceeded',
            errorMessage: 'The agent did not answer in time.',
          };
        }
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    },
  };
}

/** The command service's type. */
export type CommandService = ReturnType<typeof createCommandService>;
