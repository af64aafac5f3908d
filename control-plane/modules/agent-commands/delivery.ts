import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { EntityManager } from '@mikro-orm/postgresql';
import { checkCommandResult, isCommandKind } from '../../../shared/command-catalogue.js';
import {
  type Command,
  type CommandAck,
  type CommandResult,
  CommandSchema,
} from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../../shared/logger.js';
import { knexOf } from '../../db/knex.js';
import { commandOutcomesChannel } from './channels.js';
import { AgentCommand } from './entity.js';

/**
 * The command life cycle on the wire side: claim (queued → sent), ack, complete and expire. Together with the
 * command service (enqueue, wait, withdraw) this module is the only writer of `agent_commands`.
 */

// Every transition below is one conditional UPDATE, so two replicas (or a replaced and a replacing session)
// can race on the same row and exactly one of them wins.

/**
 * States a command can still be delivered in: never sent, or sent (and perhaps acknowledged) on a stream that may
 * have broken before its result came back. The agent caches a result it could not send and answers the resend.
 */
const deliverable = ['queued', 'sent', 'acknowledged'];

/**
 * Completes a stored payload as the command goes on the wire (a kind whose catalogue entry has a `queued` schema
 * stores less than it sends, e.g. no secret); answers the stored payload for every other kind.
 */
export type PayloadExpander = (
  em: EntityManager,
  command: { kind: string; payload: Record<string, unknown> },
) => Promise<Record<string, unknown>>;
/** States that have not ended. */
const open = ['queued', 'sent', 'acknowledged'];

const errorCodeLength = 60;
const errorMessageLength = 10_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Marks `serverId`'s deliverable commands (deadline still ahead, not already sent on this stream) as sent and
 * returns them as wire messages in issue order. The caller writes them on the stream right away; if the stream
 * breaks first they stay `sent` and go out again (same id) on the next stream, where the agent's replay cache
 * answers a command it already ran.
 */
export async function claimCommandsToSend(
  em: EntityManager,
  serverId: string,
  alreadySent: ReadonlySet<string>,
  now: Date,
  expandPayload?: PayloadExpander,
): Promise<Command[]> {
  const knex = em.getKnex();
  const claimed: Array<{ id: string }> = await knex('agent_commands')
    .update({ state: 'sent', sent_at: now, send_count: knex.raw('send_count + 1') })
    .where('server_id', serverId)
    .whereIn('state', deliverable)
    .where('deadline', '>', now)
    .whereNotIn('id', [...alreadySent])
    .returning(['id']);
  if (claimed.length === 0) return [];
  // Read back through the ORM so dates and JSON are hydrated as the entity defines them.
  const rows = await em.find(
    AgentCommand,
    { id: { $in: claimed.map((row) => row.id) } },
    { orderBy: { issuedAt: 'asc', id: 'asc' } },
  );
  const commands: Command[] = [];
  for (const row of rows) {
    const stored = row.payload ?? {};
    const payload = expandPayload ? await expandPayload(em, { kind: row.kind, payload: stored }) : stored;
    commands.push(
      create(CommandSchema, {
        commandId: row.id,
        kind: row.kind,
        issuedAt: timestampFromDate(row.issuedAt),
        deadline: timestampFromDate(row.deadline),
        payloadJson: encoder.encode(JSON.stringify(payload)),
      }),
    );
  }
  return commands;
}

/** The agent accepted a command: `sent` → `acknowledged`. A repeated ack (replay) changes nothing. */
export async function acknowledgeCommand(
  em: EntityManager,
  serverId: string,
  ack: CommandAck,
  now: Date,
  log: Logger,
): Promise<void> {
  const changed = await em.nativeUpdate(
    AgentCommand,
    { id: ack.commandId, server: serverId, state: 'sent' },
    { state: 'acknowledged', acknowledgedAt: now },
  );
  if (changed === 0) await explainIgnored(em, serverId, ack.commandId, 'ack', log);
}

/**
 * Stores a command's outcome (`succeeded` / `failed`) exactly once: only for a command of this server that was
 * sent and has not ended. Anything else (a result for a command never sent here, a second result) is logged
 * and ignored; the stream stays up.
 */
export async function completeCommand(
  em: EntityManager,
  serverId: string,
  result: CommandResult,
  now: Date,
  log: Logger,
): Promise<void> {
  const command = await em.findOne(AgentCommand, { id: result.commandId, server: serverId }, { fields: ['kind'] });
  const outcome = readOutcome(result, command?.kind);
  if (outcome.invalid) {
    log.warn(
      { commandId: result.commandId, problem: outcome.errorMessage },
      'the agent sent an unreadable command result',
    );
  }
  const changed = await em.nativeUpdate(
    AgentCommand,
    { id: result.commandId, server: serverId, state: { $in: ['sent', 'acknowledged'] } },
    {
      state: outcome.succeeded ? 'succeeded' : 'failed',
      result: outcome.value,
      errorCode: outcome.errorCode,
      errorMessage: outcome.errorMessage,
      completedAt: now,
    },
  );
  if (changed === 0) await explainIgnored(em, serverId, result.commandId, 'result', log);
  else await notifyOutcomes(em, [result.commandId]);
}

/** Tells every replica's waiters that these commands ended. */
export async function notifyOutcomes(em: EntityManager, commandIds: readonly string[]): Promise<void> {
  const knex = knexOf(em);
  for (const id of commandIds) await knex.raw('select pg_notify(?, ?)', [commandOutcomesChannel, id]);
}

function readOutcome(result: CommandResult, kind: string | undefined) {
  let value: unknown = null;
  let problem: string | null = null;
  if (result.resultJson.length > 0) {
    try {
      value = JSON.parse(utf8.decode(result.resultJson));
    } catch {
      problem = 'The agent sent a result that is not valid JSON.';
    }
  }
  // A result that does not match its kind's schema is not a success we can report.
  if (problem === null && result.succeeded && kind !== undefined && isCommandKind(kind)) {
    const checked = checkCommandResult(kind, value);
    if (!checked.ok) problem = `The agent's ${kind} result does not match its schema: ${checked.problem}.`;
  }
  const succeeded = result.succeeded && problem === null;
  const errorCode = problem !== null ? 'invalid_result' : result.succeeded ? null : result.errorCode || 'failed';
  const errorMessage = problem ?? (result.succeeded ? null : result.errorMessage || null);
  return {
    succeeded,
    invalid: problem !== null,
    value,
    errorCode: errorCode?.slice(0, errorCodeLength) ?? null,
    errorMessage: errorMessage?.slice(0, errorMessageLength) ?? null,
  };
}

async function explainIgnored(
  em: EntityManager,
  serverId: string,
  commandId: string,
  what: 'ack' | 'result',
  log: Logger,
): Promise<void> {
  const command = await em.findOne(AgentCommand, commandId, { fields: ['id', 'server', 'state'] });
  if (command === null || command.server.id !== serverId || command.state === 'queued') {
    log.warn({ commandId, what }, `ignored a command ${what} for a command never sent to this server`);
  } else {
    // A replayed answer after a reconnect, or one that arrived after the deadline sweep ended the command.
    log.debug({ commandId, what, state: command.state }, `ignored a command ${what} for a command in this state`);
  }
}

/**
 * Ends every command whose deadline has passed without an outcome as `expired` (`deadline_exceeded`), on any
 * server. Returns the ids it expired.
 */
export async function expireOverdueCommands(em: EntityManager, now: Date): Promise<string[]> {
  const rows: Array<{ id: string }> = await em
    .getKnex()('agent_commands')
    .update({
      state: 'expired',
      error_code: 'deadline_exceeded',
      error_message: 'The command did not finish before its deadline.',
      completed_at: now,
    })
    .whereIn('state', open)
    .where('deadline', '<=', now)
    .returning(['id']);
  const ids = rows.map((row) => row.id);
  await notifyOutcomes(em, ids);
  return ids;
}

/**
 * Which of `serverIds` have a queued command still within its deadline: the periodic safety net for a NOTIFY
 * that was lost while the listener reconnected.
 */
export async function serversWithQueuedCommands(em: EntityManager, serverIds: string[], now: Date): Promise<string[]> {
  if (serverIds.length === 0) return [];
  const rows: Array<{ server_id: string }> = await em
    .getKnex()('agent_commands')
    .distinct('server_id')
    .whereIn('server_id', serverIds)
    .where('state', 'queued')
    .where('deadline', '>', now);
  return rows.map((row) => row.server_id);
}

/** What {@link sweepCommands} needs. */
export interface CommandSweepOptions {
  em: EntityManager;
  now: Date;
  log: Logger;
  /** Servers whose session this process holds. */
  servedServerIds: string[];
  /** Asks the session of `serverId` to send what is queued for it. */
  requestDelivery(serverId: string): void;
}

/** The periodic pass over commands: expires overdue ones, and re-offers queued ones to sessions held here. */
export async function sweepCommands(options: CommandSweepOptions): Promise<void> {
  const { em, now, log } = options;
  const expired = await expireOverdueCommands(em, now);
  for (const commandId of expired) log.info({ commandId }, 'command expired: its deadline passed without an outcome');
  for (const serverId of await serversWithQueuedCommands(em, options.servedServerIds, now)) {
    options.requestDelivery(serverId);
  }
}
