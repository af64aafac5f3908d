import type { EntityManager } from '@mikro-orm/postgresql';
import type { CommandKind, CommandResultOf, QueuedPayload } from '../../../shared/command-catalogue.js';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { knexOf } from '../../db/knex.js';
import type { NotifyHub } from '../../db/notify-hub.js';
import { commandOutcomesChannel, commandsChannel } from './channels.js';
import { notifyOutcomes } from './delivery.js';
import { AgentCommand } from './entity.js';

/** A command as its issuer holds it: enough to wait for it, typed by its kind. */
export interface IssuedCommand<K extends CommandKind = CommandKind> {
  id: string;
  kind: K;
}

/** A finished command as callers see it; a success carries the kind's result. */
export type CommandOutcome<K extends CommandKind = CommandKind> =
  | { commandId: string; state: 'succeeded'; result: CommandResultOf<K>; errorCode: null; errorMessage: null }
  | { commandId: string; state: 'failed' | 'expired'; result: null; errorCode: string; errorMessage: string | null };

/** Dependencies of {@link createCommandService}. */
export interface CommandServiceOptions {
  now: Clock;
  /** Wakes a waiting caller when its command ends, on whichever replica stored the outcome. */
  hub: Pick<NotifyHub, 'waitUntil'>;
}

const ended = new Set(['succeeded', 'failed', 'expired']);

/** The outcome held in a command's row, or undefined while it has not ended. */
export function outcomeOf<K extends CommandKind>(row: AgentCommand): CommandOutcome<K> | undefined {
  if (!ended.has(row.state)) return undefined;
  if (row.state === 'succeeded') {
    const result = (row.result ?? null) as CommandResultOf<K>;
    return { commandId: row.id, state: 'succeeded', result, errorCode: null, errorMessage: null };
  }
  return {
    commandId: row.id,
    state: row.state as 'failed' | 'expired',
    result: null,
    errorCode: row.errorCode ?? 'failed',
    errorMessage: row.errorMessage ?? null,
  };
}

/**
 * Persisted commands for agents, the issuing side of their life cycle: written to PostgreSQL before anything is
 * sent and announced with NOTIFY (enqueue), awaited through the notification hub (waitForOutcome), withdrawn while
 * still queued (withdraw). The wire side (claim, ack, complete, expire) is in delivery.ts.
 */
export function createCommandService({ now, hub }: CommandServiceOptions) {
  return {
    /** Queues a command for `serverId`'s agent; it must finish before `timeoutMs` or it expires. */
    async enqueue<K extends CommandKind>(
      em: EntityManager,
      serverId: string,
      kind: K,
      payload: QueuedPayload<K>,
      timeoutMs: number,
    ): Promise<IssuedCommand<K> & { issuedAt: Date; deadline: Date }> {
      const at = now();
      const command = em.create(AgentCommand, {
        id: newId('command'),
        server: serverId,
        kind,
        payload: { ...(payload as Record<string, unknown>) },
        state: 'queued',
        issuedAt: at,
        deadline: new Date(at.getTime() + timeoutMs),
        sendCount: 0,
      });
      await em.flush();
      // On the caller's transaction when there is one: the notification then goes out when the command is committed
      // (sent earlier, on another connection, the listener would find nothing and wait for the next sweep).
      await knexOf(em).raw('select pg_notify(?, ?)', [commandsChannel, serverId]);
      return { id: command.id, kind, issuedAt: command.issuedAt, deadline: command.deadline };
    },

    /**
     * Waits until the command has ended, or its deadline has passed by `graceMs` (then it answers `expired` /
     * `deadline_exceeded` without waiting for the sweep to write it).
     */
    async waitForOutcome<K extends CommandKind>(
      em: EntityManager,
      command: IssuedCommand<K>,
      graceMs = 1000,
    ): Promise<CommandOutcome<K>> {
      const first = await em.fork().findOne(AgentCommand, command.id);
      if (first === null) throw new AppError('not_found', `Command "${command.id}" was not found.`);
      const outcome = await hub.waitUntil({
        channel: commandOutcomesChannel,
        key: command.id,
        deadline: new Date(first.deadline.getTime() + graceMs),
        check: async () => {
          const row = await em.fork().findOneOrFail(AgentCommand, command.id);
          return outcomeOf<K>(row);
        },
      });
      return (
        outcome ?? {
          commandId: command.id,
          state: 'expired',
          result: null,
          errorCode: 'deadline_exceeded',
          errorMessage: 'The agent did not answer in time.',
        }
      );
    },

    /**
     * Ends a command that is still queued (the agent never sees it) as `expired` with `errorCode`. Returns whether
     * it was still queued; a command already sent is left to run (cancel it with a command of its own).
     */
    async withdraw(em: EntityManager, commandId: string, errorCode: string, errorMessage: string): Promise<boolean> {
      const changed = await em.nativeUpdate(
        AgentCommand,
        { id: commandId, state: 'queued' },
        { state: 'expired', completedAt: now(), errorCode, errorMessage },
      );
      if (changed > 0) await notifyOutcomes(em, [commandId]);
      return changed > 0;
    },

    /** The ids of the commands of `kind` still queued for `serverId` (not yet sent), oldest first. */
    async queuedOf(em: EntityManager, serverId: string, kind: CommandKind): Promise<string[]> {
      const rows = await em.find(
        AgentCommand,
        { server: serverId, kind, state: 'queued' },
        { fields: ['id'], orderBy: { issuedAt: 'asc' } },
      );
      return rows.map((row) => row.id);
    },

    /** Which of `commandIds` have expired (their deadline passed unanswered, or they were withdrawn). */
    async expiredAmong(em: EntityManager, commandIds: readonly string[]): Promise<string[]> {
      if (commandIds.length === 0) return [];
      const rows = await em.find(AgentCommand, { id: { $in: [...commandIds] }, state: 'expired' }, { fields: ['id'] });
      return rows.map((row) => row.id);
    },

    /** The command's row, or null. */
    find(em: EntityManager, commandId: string): Promise<AgentCommand | null> {
      return em.findOne(AgentCommand, commandId);
    },

    /** The most recent command of `kind` whose payload has `field` = `value` (e.g. a resource's last runtime control). */
    async latest(em: EntityManager, kind: CommandKind, field: string, value: string): Promise<AgentCommand | null> {
      const [row] = await em.find(
        AgentCommand,
        { kind, payload: { [field]: value } },
        { orderBy: { issuedAt: 'desc' }, limit: 1 },
      );
      return row ?? null;
    },
  };
}

/** The command service's type. */
export type CommandService = ReturnType<typeof createCommandService>;
