import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  type TerminalFromAgent,
  type TerminalToAgent,
  TerminalToAgentSchema,
} from '../../../shared/gen/berth/agent/v1/agent_pb.js';

export type TerminalCall = ServerDuplexStream<TerminalFromAgent, TerminalToAgent>;

/** The agent's side of one session, as the WebSocket relays it. */
export interface AgentTerminal {
  input(data: Uint8Array): void;
  resize(rows: number, cols: number): void;
  close(reason: string): void;
  /** Output, then either the exit code or an error, then nothing. */
  onOutput(listener: (data: Uint8Array) => void): void;
  onEnd(listener: (end: { exitCode: number | null; error: string | null }) => void): void;
}

interface Waiter {
  serverId: string;
  resolve(terminal: AgentTerminal): void;
  timer: NodeJS.Timeout;
}

/**
 * Pairs a session's WebSocket with the `Terminal` stream its agent opens for it. The WebSocket side waits
 * (`expect`) for the stream named by the session id; the gateway hands each new stream over (`accept`) once its
 * first frame names a session expected from that very server — an agent cannot take over another server's session.
 */
export function createTerminalBroker() {
  const waiting = new Map<string, Waiter>();
  const live = new Map<string, AgentTerminal>();

  function wrap(sessionId: string, call: TerminalCall, first: TerminalFromAgent[]): AgentTerminal {
    const outputs: Array<(data: Uint8Array) => void> = [];
    const ends: Array<(end: { exitCode: number | null; error: string | null }) => void> = [];
    const pending: TerminalFromAgent[] = [...first];
    let ended: { exitCode: number | null; error: string | null } | null = null;
    const finish = (end: { exitCode: number | null; error: string | null }) => {
      if (ended !== null) return;
      ended = end;
      live.delete(sessionId);
      for (const listener of ends) listener(end);
    };
    const deliver = (frame: TerminalFromAgent) => {
      if (frame.payload.case === 'output') for (const listener of outputs) listener(frame.payload.value);
      else if (frame.payload.case === 'exitCode') finish({ exitCode: frame.payload.value, error: null });
      else if (frame.payload.case === 'error') finish({ exitCode: null, error: frame.payload.value });
    };
    call.on('data', (frame: TerminalFromAgent) => {
      if (outputs.length === 0) pending.push(frame);
      else deliver(frame);
    });
    call.on('end', () => finish({ exitCode: null, error: null }));
    call.on('cancelled', () => finish({ exitCode: null, error: 'the agent closed the terminal stream' }));
    call.on('error', () => finish({ exitCode: null, error: 'the terminal stream broke' }));
    const send = (message: Parameters<typeof create<typeof TerminalToAgentSchema>>[1]) => {
      if (ended === null && !call.writableEnded) call.write(create(TerminalToAgentSchema, message));
    };
    const terminal: AgentTerminal = {
      input: (data) => send({ payload: { case: 'input', value: data } }),
      resize: (rows, cols) => send({ payload: { case: 'resize', value: { rows, cols } } }),
      close: (reason) => {
        send({ payload: { case: 'closeReason', value: reason } });
        // The agent ends the stream once the shell stops; if it does not, end our side after a grace period.
        setTimeout(() => {
          if (!call.writableEnded) call.end();
        }, 5_000).unref();
      },
      onOutput(listener) {
        outputs.push(listener);
        for (const frame of pending.splice(0)) deliver(frame);
      },
      onEnd(listener) {
        if (ended !== null) listener(ended);
        else ends.push(listener);
      },
    };
    live.set(sessionId, terminal);
    return terminal;
  }

  return {
    /** Waits up to `timeoutMs` for `serverId`'s agent to open the stream of `sessionId`. */
    expect(sessionId: string, serverId: string, timeoutMs: number): Promise<AgentTerminal | null> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(sessionId);
          resolve(null);
        }, timeoutMs);
        waiting.set(sessionId, {
          serverId,
          timer,
          resolve: (terminal) => {
            clearTimeout(timer);
            resolve(terminal);
          },
        });
      });
    },

    /**
     * A stream the agent of `serverId` opened, with its first frame. Returns false when no session of that server
     * waits for it (the gateway then ends the stream).
     */
    accept(serverId: string, call: TerminalCall, first: TerminalFromAgent): boolean {
      if (first.payload.case !== 'openSessionId') return false;
      const sessionId = first.payload.value;
      const waiter = waiting.get(sessionId);
      if (waiter === undefined || waiter.serverId !== serverId) return false;
      waiting.delete(sessionId);
      waiter.resolve(wrap(sessionId, call, []));
      return true;
    },

    /** The live session's agent side, if its stream is open here. */
    live: (sessionId: string) => live.get(sessionId),
  };
}
export type TerminalBroker = ReturnType<typeof createTerminalBroker>;
