import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import {
  type AgentMessage,
  AgentMessageSchema,
  type ControlMessage,
  type DockerFactsSchema,
  GoodbyeSchema,
  HeartbeatSchema,
  HelloSchema,
  type HostFactsSchema,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';
import { type BackoffOptions, backoffDelay, defaultBackoff } from './backoff.js';
import { dialConnect, type LinkTarget } from './dial.js';

/**
 * The link's state. `connecting`: the stream is being opened and the Hello sent, no Welcome yet. `open`: the
 * Welcome arrived. `backoff`: waiting `until` before attempt `attempt`. `revoked` and `stopped` are final.
 */
export type LinkState =
  | { t: 'idle' }
  | { t: 'connecting'; attempt: number; since: Date }
  | {
      t: 'open';
      sessionId: string;
      since: Date;
      heartbeatIntervalMs: number;
      unreachableAfterMs: number;
      /** 0 when the control plane leaves it to the agent. */
      telemetryIntervalMs: number;
    }
  | { t: 'backoff'; attempt: number; until: Date; error: string }
  | { t: 'revoked'; reason: string }
  | { t: 'stopped' };

/** A payload the agent sends; the stream wraps it in a numbered envelope. */
export type AgentPayload = Exclude<AgentMessage['payload'], { case: undefined }>;

/** Hello without `last_ack_seen`, which the stream fills in. */
export interface HelloInit {
  serverId: string;
  agentVersion: string;
  capabilities: string[];
  host: MessageInitShape<typeof HostFactsSchema>;
  docker: MessageInitShape<typeof DockerFactsSchema>;
}

/** Options of {@link ControlStream}. */
export interface ControlStreamOptions {
  loadTarget: () => Promise<LinkTarget>;
  /** Builds the Hello for a new stream (fresh host and Docker facts). */
  hello: () => Promise<HelloInit>;
  /** Commands, certificates and desired state; everything the stream itself does not handle. */
  onMessage: (message: ControlMessage) => void;
  /** Called on every state change, after it happened. */
  onStateChange: (state: LinkState) => void;
  onHeartbeatAck?: (at: Date) => void;
  log: Logger;
  clock: Clock;
  random: () => number;
  backoff?: BackoffOptions;
  /** A session open at least this long resets the backoff to its first step (10 s). */
  resetBackoffAfterMs?: number;
  /** Give up on a stream that sends no Welcome within this time (30 s). */
  welcomeTimeoutMs?: number;
  /** How long {@link ControlStream.stop} waits for the gateway to close the stream after the Goodbye (2 s). */
  goodbyeTimeoutMs?: number;
}

interface Session {
  client: grpc.Client;
  call: grpc.ClientDuplexStream<AgentMessage, ControlMessage>;
  seq: bigint;
  ack: bigint;
  finished: Promise<void>;
  markFinished: () => void;
  timers: NodeJS.Timeout[];
}

/**
 * The agent's one long-lived bidi `Connect` stream to the control plane, as an explicit state machine (STYLE.md
 * 15). It dials with mTLS, sends the Hello, heartbeats at the interval the Welcome sets, numbers every envelope
 * (`seq` from 1 per stream, `ack` = highest ControlMessage seq seen) and reconnects with capped exponential
 * backoff and full jitter until stopped or revoked. The stream never has a deadline (STACK.md P9): HTTP/2
 * keepalive and heartbeats detect a dead peer.
 */
export class ControlStream {
  #state: LinkState = { t: 'idle' };
  #attempt = 0;
  #lastAckSeen = 0n;
  #session: Session | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #lastFailureKind: string | undefined;
  #resolveDone!: (outcome: 'stopped' | 'revoked') => void;
  /** Resolves once the link has ended for good: `revoked` (never reconnect) or `stopped`. */
  readonly done = new Promise<'stopped' | 'revoked'>((resolve) => {
    this.#resolveDone = resolve;
  });

  constructor(private readonly options: ControlStreamOptions) {}

  /** The current state (a snapshot; do not mutate). */
  get state(): LinkState {
    return this.#state;
  }

  /** Starts connecting; a no-op unless idle. */
  start(): void {
    if (this.#state.t === 'idle') void this.#connect();
  }

  /** Sends `payload` on the open session. Returns false (and sends nothing) when no session is open. */
  send(payload: AgentPayload): boolean {
    if (this.#state.t !== 'open' || !this.#session) return false;
    return this.#write(this.#session, payload);
  }

  /** Says Goodbye, half-closes, waits briefly for the gateway to finish the stream, then closes. Final. */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.#state.t === 'stopped' || this.#state.t === 'revoked') return;
    clearTimeout(this.#reconnectTimer);
    const wasOpen = this.#state.t === 'open';
    const session = this.#session;
    this.#setState({ t: 'stopped' });
    if (session) {
      if (wasOpen) this.#write(session, { case: 'goodbye', value: create(GoodbyeSchema, { reason }) });
      session.call.end();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, this.options.goodbyeTimeoutMs ?? 2_000));
      await Promise.race([session.finished, grace]);
      this.#teardown(session);
    }
    this.#resolveDone('stopped');
  }

  #setState(state: LinkState): void {
    this.#state = state;
    this.options.onStateChange(state);
  }

  #write(session: Session, payload: AgentPayload): boolean {
    session.seq += 1n;
    try {
      session.call.write(create(AgentMessageSchema, { seq: session.seq, ack: session.ack, payload }));
      return true;
    } catch (error) {
      this.options.log.debug({ err: error }, 'write on a closing stream');
      return false;
    }
  }

  async #connect(): Promise<void> {
    this.#setState({ t: 'connecting', attempt: this.#attempt, since: this.options.clock() });
    let target: LinkTarget;
    let hello: HelloInit;
    try {
      [target, hello] = await Promise.all([this.options.loadTarget(), this.options.hello()]);
    } catch (error) {
      this.#failed('credentials_unreadable', error instanceof Error ? error.message : String(error));
      return;
    }
    if (this.#state.t !== 'connecting') return; // stopped while reading files
    const { client, call } = dialConnect(target);
    let markFinished!: () => void;
    const finished = new Promise<void>((resolve) => {
      markFinished = resolve;
    });
    const session: Session = { client, call, seq: 0n, ack: 0n, finished, markFinished, timers: [] };
    this.#session = session;
    call.on('data', (message: ControlMessage) => this.#receive(session, message));
    call.on('error', () => undefined); // the 'status' event that always follows carries the same information
    call.on('status', (status: grpc.StatusObject) => {
      session.markFinished();
      // grpc-js emits 'status' right after pushing the last messages; let those 'data' events (a Revoked,
      // say) run first, so the reason for the close is known before deciding to reconnect.
      setImmediate(() => this.#closed(session, status));
    });
    const welcomeTimeoutMs = this.options.welcomeTimeoutMs ?? 30_000;
    session.timers.push(
      setTimeout(() => {
        if (this.#session === session && this.#state.t === 'connecting') call.cancel();
      }, welcomeTimeoutMs),
    );
    this.#write(session, {
      case: 'hello',
      value: create(HelloSchema, { ...hello, lastAckSeen: this.#lastAckSeen }),
    });
  }

  #receive(session: Session, message: ControlMessage): void {
    if (this.#session !== session) return;
    if (message.seq > session.ack) session.ack = message.seq;
    const payload = message.payload;
    switch (payload.case) {
      case 'welcome': {
        const welcome = payload.value;
        const heartbeatIntervalMs = welcome.heartbeatIntervalMs || 5_000;
        this.#setState({
          t: 'open',
          sessionId: welcome.sessionId,
          since: this.options.clock(),
          heartbeatIntervalMs,
          unreachableAfterMs: welcome.unreachableAfterMs,
          telemetryIntervalMs: welcome.telemetryIntervalMs,
        });
        const skewMs = welcome.serverTime
          ? timestampDate(welcome.serverTime).getTime() - this.options.clock().getTime()
          : undefined;
        this.options.log.info({ sessionId: welcome.sessionId, heartbeatIntervalMs, skewMs }, 'connected');
        this.#lastFailureKind = undefined;
        const heartbeat = () =>
          this.#write(session, {
            case: 'heartbeat',
            value: create(HeartbeatSchema, { observedAt: timestampFromDate(this.options.clock()) }),
          });
        session.timers.push(setInterval(heartbeat, heartbeatIntervalMs));
        return;
      }
      case 'heartbeatAck':
        this.options.onHeartbeatAck?.(this.options.clock());
        return;
      case 'revoked':
        this.options.log.error(
          { reason: payload.value.reason },
          'the control plane revoked this agent; not reconnecting until it is enrolled again',
        );
        this.#setState({ t: 'revoked', reason: payload.value.reason });
        this.#teardown(session);
        this.#resolveDone('revoked');
        return;
      case 'command':
      case 'certificateIssued':
      case 'desiredState':
        this.options.onMessage(message);
        return;
      case undefined:
        this.options.log.warn({ seq: message.seq }, 'ignoring a control message without a payload');
        return;
      default: {
        const unhandled: never = payload;
        this.options.log.warn({ payload: unhandled }, 'ignoring an unknown control message');
      }
    }
  }

  #closed(session: Session, status: grpc.StatusObject): void {
    if (this.#session !== session) return;
    this.#teardown(session);
    const state = this.#state;
    if (state.t === 'stopped' || state.t === 'revoked') return;
    if (state.t === 'open') {
      // Only a session that was open counts as "the previous stream": failed attempts in between saw nothing
      // and must not erase what the control plane needs to resend.
      this.#lastAckSeen = session.ack;
      const openMs = this.options.clock().getTime() - state.since.getTime();
      // A session that held for a while proves the link works: start the next series of retries from the bottom.
      if (openMs >= (this.options.resetBackoffAfterMs ?? 10_000)) this.#attempt = 0;
    }
    const kind =
      status.code === grpc.status.OK
        ? 'closed_by_control_plane'
        : state.t === 'connecting' && status.code === grpc.status.CANCELLED
          ? 'no_welcome'
          : grpc.status[status.code]!.toLowerCase();
    this.#failed(kind, status.details || kind);
  }

  #failed(kind: string, message: string): void {
    if (this.#state.t === 'stopped' || this.#state.t === 'revoked') return;
    // Log once per change of failure kind: an agent retrying for an hour must not write 60 warnings.
    if (kind !== this.#lastFailureKind) {
      this.options.log.warn({ kind, error: message }, 'link to the control plane failed; retrying with backoff');
      this.#lastFailureKind = kind;
    } else {
      this.options.log.debug({ kind, error: message, attempt: this.#attempt }, 'link still failing');
    }
    const delayMs = backoffDelay(this.#attempt, this.options.random, this.options.backoff ?? defaultBackoff);
    this.#attempt += 1;
    const until = new Date(this.options.clock().getTime() + delayMs);
    this.#setState({ t: 'backoff', attempt: this.#attempt, until, error: `${kind}: ${message}` });
    this.#reconnectTimer = setTimeout(() => void this.#connect(), delayMs);
  }

  #teardown(session: Session): void {
    for (const timer of session.timers) clearTimeout(timer);
    session.timers.length = 0;
    if (this.#session === session) this.#session = undefined;
    session.call.cancel(); // a no-op once the status has arrived
    session.client.close();
  }
}
