import { create } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import {
  type AgentMessage,
  type Command,
  CommandAckSchema,
  CommandResultSchema,
} from '../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { type CommandOutcome, type HandlerDeps, runCommand } from './handlers/index.js';
import type { CachedResult, ReplayCache } from './replay-cache.js';

/** Something the agent can put on the link; `false` when the link is not open. */
export type SendPayload = (payload: Exclude<AgentMessage['payload'], { case: undefined }>) => boolean;

/** Options of {@link createCommandRunner}. */
export interface CommandRunnerOptions {
  cache: Pick<ReplayCache, 'get' | 'remember'>;
  handlers: HandlerDeps;
  send: SendPayload;
  clock: Clock;
  log: Logger;
}

/** Runs Commands from the control plane; see {@link createCommandRunner}. */
export interface CommandRunner {
  /** Acknowledges, runs (at most once per id) and answers one Command. Never rejects. */
  handle(command: Command): Promise<void>;
  /** Resolves when no command is running, for a clean shutdown. */
  idle(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The agent's side of the command protocol:
 * 1. a CommandAck goes out at once, for every Command, a resend included;
 * 2. an id found in the replay cache is answered with the cached result and not run;
 * 3. an id already running is not started again: its result goes out when it finishes;
 * 4. a command whose deadline has passed is not started and fails with `deadline_exceeded`;
 * 5. otherwise the handler runs, the result is cached (on disk) and only then sent.
 * Caching before sending means a link that breaks in between loses nothing: the control plane resends the
 * command and gets the cached result. Results are sent on whatever stream is open when they are ready.
 */
export function createCommandRunner(options: CommandRunnerOptions): CommandRunner {
  const running = new Map<string, Promise<void>>();

  function sendResult(commandId: string, result: CachedResult): void {
    const sent = options.send({
      case: 'commandResult',
      value: create(CommandResultSchema, {
        commandId,
        succeeded: result.succeeded,
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
        resultJson: encoder.encode(result.resultJson),
      }),
    });
    // Not an error: the result is cached and the control plane resends unanswered commands after a reconnect.
    if (!sent) options.log.debug({ commandId }, 'link closed before the command result could be sent');
  }

  async function outcomeOf(command: Command): Promise<CommandOutcome> {
    if (command.deadline && timestampDate(command.deadline).getTime() < options.clock().getTime()) {
      return {
        succeeded: false,
        errorCode: 'deadline_exceeded',
        errorMessage: `the command's deadline (${timestampDate(command.deadline).toISOString()}) passed before it could start`,
      };
    }
    let payload: unknown;
    try {
      payload = command.payloadJson.length === 0 ? undefined : JSON.parse(decoder.decode(command.payloadJson));
    } catch {
      return { succeeded: false, errorCode: 'invalid_payload', errorMessage: 'payload_json is not valid JSON' };
    }
    try {
      return await runCommand(command.kind, payload, options.handlers);
    } catch (error) {
      options.log.error({ err: error, commandId: command.commandId, kind: command.kind }, 'command handler failed');
      return {
        succeeded: false,
        errorCode: 'handler_failed',
        errorMessage: error instanceof Error ? error.message : String(error),
      };
    }
  }

  async function run(command: Command): Promise<void> {
    const startedAt = options.clock();
    const outcome = await outcomeOf(command);
    const result: CachedResult = outcome.succeeded
      ? {
          succeeded: true,
          errorCode: '',
          errorMessage: '',
          resultJson: outcome.result === undefined ? '' : JSON.stringify(outcome.result),
          handledAt: options.clock().toISOString(),
        }
      : { ...outcome, resultJson: '', handledAt: options.clock().toISOString() };
    try {
      await options.cache.remember(command.commandId, result);
    } catch (error) {
      // Still answer: losing replay protection for one command beats leaving it unanswered.
      options.log.error({ err: error, commandId: command.commandId }, 'could not persist the replay cache');
    }
    options.log.info(
      {
        commandId: command.commandId,
        kind: command.kind,
        succeeded: result.succeeded,
        errorCode: result.errorCode || undefined,
        durationMs: options.clock().getTime() - startedAt.getTime(),
      },
      'command finished',
    );
    sendResult(command.commandId, result);
  }

  return {
    async handle(command) {
      const { commandId } = command;
      options.send({ case: 'commandAck', value: create(CommandAckSchema, { commandId }) });
      const cached = options.cache.get(commandId);
      if (cached) {
        options.log.info({ commandId, kind: command.kind }, 'command resent; answering from the replay cache');
        sendResult(commandId, cached);
        return;
      }
      const inFlight = running.get(commandId);
      if (inFlight) return inFlight;
      const job = run(command).finally(() => running.delete(commandId));
      running.set(commandId, job);
      return job;
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
  };
}
