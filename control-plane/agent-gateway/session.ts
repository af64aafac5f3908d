import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type ErrorKind, errorKinds } from '../../shared/errors.js';
import {
  type AgentMessage,
  type ControlMessage,
  ControlMessageSchema,
  DesiredStateSchema,
  HeartbeatAckSchema,
  type Hello,
  RevokedSchema,
  WelcomeSchema,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { CertificateAuthority } from '../../shared/pki.js';
import type { Clock } from '../../shared/time.js';
import { acknowledgeCommand, claimCommandsToSend, completeCommand } from '../modules/agent-commands/delivery.js';
import { acceptHello, invalidHello, recordDisconnect, recordSeen } from './connection-state.js';
import type { AgentLinkHooks } from './hooks.js';
import type { CredentialProblem, PeerIdentity } from './identity.js';
import { renewCertificate } from './renewal.js';

/** The gRPC call of one agent stream. */
export type AgentCall = ServerDuplexStream<AgentMessage, ControlMessage>;

/** What every session of a gateway shares. */
export interface SessionHost {
  orm: MikroORM;
  clock: Clock;
  log: Logger;
  ca: CertificateAuthority;
  heartbeatIntervalMs: number;
  unreachableAfterMs: number;
  /** Sent in the Welcome: how often the agent flushes telemetry (0: its default). */
  telemetryIntervalMs: number;
  agentCertificateDays: number;
  hooks: AgentLinkHooks;
  /** Makes `session` the one serving its server in this process, ending an older one. */
  claim(session: AgentSession): void;
  /** The session's stream is over; forget it if it is still the one serving its server. */
  release(session: AgentSession): void;
  /** The session has recorded its end (its `done` is about to resolve); drop every reference to it. */
  forget(session: AgentSession): void;
}

// Stop reading from a flooding agent until its backlog is handled (TCP then slows it down).
const maxBacklog = 64;

/**
 * One agent stream, from its first message to its end: seq/ack bookkeeping, the Hello handshake, and the
 * handling of each inbound message in order (one at a time, each with its own forked EntityManager).
 *
 * A session is `awaiting-hello` until a valid Hello, then `open`, then `ending` once anything ends it; whatever
 * ends it, the server row is marked `unreachable` afterwards unless a newer session has taken over.
 */
export class AgentSession {
  /** Identifies the stream in logs and in the Welcome. */
  readonly id = newId('agentSession');
  /** Resolves once the stream is over and the server row says so. */
  readonly done: Promise<void>;
  /** When the agent last sent anything (in memory; the row is written at most once per heartbeat interval). */
  lastSeenAt: Date;
  private phase: 'awaiting-hello' | 'open' | 'ending' = 'awaiting-hello';
  private finished = false;
  private outboundSeq = 0n;
  private inboundSeq = 0n;
  private openedAt: Date | undefined;
  private lastSeenWrittenAt = 0;
  private work: Promise<void> = Promise.resolve();
  private backlog = 0;
  private deliveryQueued = false;
  // Sent on this stream and not answered: a later NOTIFY must not send them twice on the same stream.
  private readonly sentCommands = new Set<string>();
  private sentDesiredVersion = -1;
  private readonly log: Logger;
  private resolveDone: () => void = () => undefined;

  constructor(
    private readonly call: AgentCall,
    /** Who the client certificate says is calling. */
    readonly identity: PeerIdentity,
    private readonly host: SessionHost,
  ) {
    this.lastSeenAt = host.clock();
    this.log = host.log.child({ serverId: identity.serverId, agentSessionId: this.id });
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    call.on('data', (message: AgentMessage) => this.receive(message));
    call.on('end', () => this.enqueue(async () => this.end(null, 'the agent closed the stream')));
    call.on('cancelled', () => this.finish());
    call.on('close', () => this.finish());
  }

  /** The server this stream speaks for. */
  get serverId(): string {
    return this.identity.serverId;
  }

  /**
   * When the Hello was accepted: the `connectedSince` this session wrote on the server row. It doubles as the
   * session's token there: only the session whose value the row holds may mark the server unreachable.
   */
  get connectedSince(): Date | undefined {
    return this.openedAt;
  }

  /** True between a valid Hello and the end of the stream. */
  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Sends the server's pending commands soon (after the message being handled); repeated calls coalesce. */
  requestDelivery(): void {
    if (this.phase !== 'open' || this.deliveryQueued) return;
    this.deliveryQueued = true;
    this.enqueue(async () => {
      this.deliveryQueued = false;
      await this.deliverCommands(this.host.orm.em.fork());
    });
  }

  /** Tells the agent its credential is no longer accepted (`Revoked`), then ends the stream. */
  revoke(problem: CredentialProblem): void {
    if (this.phase === 'ending') return;
    this.send({ case: 'revoked', value: create(RevokedSchema, { reason: problem.reason }) });
    this.end(problem.kind, problem.reason);
  }

  /**
   * Ends the stream: with OK when `kind` is null, else with the gRPC status of that error kind and `reason` as
   * the details the agent logs. Idempotent.
   */
  end(kind: ErrorKind | null, reason: string): void {
    if (this.phase === 'ending') return;
    this.phase = 'ending';
    if (this.finished) return;
    if (kind === null) {
      this.log.info({ reason }, 'agent session ended');
      this.call.end();
      return;
    }
    const code = errorKinds[kind].grpcStatus;
    const level = kind === 'service_unavailable' || kind === 'conflict' ? 'info' : 'warn';
    this.log[level]({ reason, code }, 'ending the agent session');
    // grpc-js turns an 'error' emitted on a server stream into the call's final status.
    this.call.emit('error', { code, details: reason });
  }

  private receive(message: AgentMessage): void {
    if (this.phase === 'ending') return;
    this.lastSeenAt = this.host.clock();
    if (message.seq <= this.inboundSeq) {
      const reason =
        message.seq === 0n ? 'seq must start at 1' : `seq went backwards: got ${message.seq} after ${this.inboundSeq}`;
      this.end('validation_failed', reason);
      return;
    }
    this.inboundSeq = message.seq;
    if (++this.backlog >= maxBacklog) this.call.pause();
    this.enqueue(async () => {
      try {
        await this.handle(message);
      } finally {
        if (--this.backlog === maxBacklog / 2) this.call.resume();
      }
    });
  }

  // Messages are handled one at a time, in order; a failure ends the stream (the agent reconnects).
  private enqueue(task: () => Promise<void>): void {
    this.work = this.work.then(async () => {
      if (this.phase === 'ending') return;
      try {
        await task();
      } catch (error) {
        this.log.error({ err: error }, 'failed to handle an agent message');
        this.end('service_unavailable', 'the control plane could not handle a message; reconnect later');
      }
    });
  }

  private async handle(message: AgentMessage): Promise<void> {
    const { payload } = message;
    if (payload.case === undefined) return this.end('validation_failed', 'a message without a payload');
    if (payload.case === 'hello') return this.hello(payload.value);
    if (this.phase !== 'open') return this.end('validation_failed', 'the first message on a stream must be a Hello');
    const em = this.host.orm.em.fork();
    await this.touch(em);
    const now = this.host.clock();
    switch (payload.case) {
      case 'heartbeat':
        return this.send({ case: 'heartbeatAck', value: create(HeartbeatAckSchema) });
      case 'commandAck':
        return acknowledgeCommand(em, this.serverId, payload.value, now, this.log);
      case 'commandResult':
        this.sentCommands.delete(payload.value.commandId);
        await completeCommand(em, this.serverId, payload.value, now, this.log);
        return this.host.hooks.onCommandCompleted?.(em, payload.value.commandId);
      case 'event': {
        const { kind, observedAt, attributes } = payload.value;
        const observed = observedAt ? timestampDate(observedAt) : now;
        if (this.host.hooks.onEvent === undefined) {
          this.log.info({ kind, observedAt: observed.toISOString(), attributes }, 'agent event');
          return;
        }
        return this.host.hooks.onEvent(em, this.serverId, {
          kind,
          observedAt: observed,
          attributes: { ...attributes },
        });
      }
      case 'goodbye':
        this.log.info({ reason: payload.value.reason }, 'the agent is leaving');
        return;
      case 'certificateRequest': {
        const { ca, agentCertificateDays } = this.host;
        const options = { ca, agentCertificateDays, now, log: this.log };
        const issued = await renewCertificate(em, this.serverId, payload.value, options);
        return this.send({ case: 'certificateIssued', value: issued });
      }
    }
  }

  private async hello(hello: Hello): Promise<void> {
    if (this.phase === 'open') return this.end('validation_failed', 'a second Hello on the same stream');
    if (hello.serverId !== this.serverId) {
      const reason = `the Hello names server "${hello.serverId}" but the client certificate is for "${this.serverId}"`;
      return this.end('forbidden_scope', reason);
    }
    const invalid = invalidHello(hello);
    if (invalid !== undefined) return this.end('validation_failed', invalid);
    const em = this.host.orm.em.fork();
    const now = this.host.clock();
    const problem = await acceptHello(em, this.identity, hello, now);
    if (problem !== null) return this.revoke(problem);
    this.openedAt = now;
    this.lastSeenWrittenAt = now.getTime();
    if (this.phase === 'ending') return;
    this.phase = 'open';
    // The agent's first heartbeat comes an interval after the Welcome: a slow Hello (a loaded database) must not
    // count as silence, or a session that just opened would be ended as unreachable.
    this.lastSeenAt = this.host.clock();
    this.host.claim(this);
    this.send({
      case: 'welcome',
      value: create(WelcomeSchema, {
        sessionId: this.id,
        heartbeatIntervalMs: this.host.heartbeatIntervalMs,
        unreachableAfterMs: this.host.unreachableAfterMs,
        telemetryIntervalMs: this.host.telemetryIntervalMs,
        serverTime: timestampFromDate(now),
      }),
    });
    this.log.info(
      { agentVersion: hello.agentVersion, capabilities: hello.capabilities, lastAckSeen: hello.lastAckSeen },
      'agent connected',
    );
    await this.deliverCommands(em);
  }

  // The agent ignores a version it already has, so a resend after a reconnect is harmless.
  private async deliverDesiredState(em: EntityManager): Promise<void> {
    const state = await this.host.hooks.desiredState?.(em, this.serverId);
    if (!state || state.version <= this.sentDesiredVersion || this.phase !== 'open') return;
    this.sentDesiredVersion = state.version;
    const documentJson = new TextEncoder().encode(JSON.stringify(state.document));
    this.send({
      case: 'desiredState',
      value: create(DesiredStateSchema, { version: BigInt(state.version), documentJson }),
    });
  }

  private async deliverCommands(em: EntityManager): Promise<void> {
    await this.deliverDesiredState(em);
    const commands = await claimCommandsToSend(
      em,
      this.serverId,
      this.sentCommands,
      this.host.clock(),
      this.host.hooks.expandPayload,
    );
    for (const command of commands) {
      // Claimed but not written: they stay `sent` and go out again on the next stream.
      if (this.phase !== 'open') return;
      this.sentCommands.add(command.commandId);
      this.send({ case: 'command', value: command });
      this.log.debug({ commandId: command.commandId, kind: command.kind }, 'sent a command');
    }
  }

  // The row's lastSeenAt is written at most once per heartbeat interval; the sweeps allow for that lag.
  private async touch(em: EntityManager): Promise<void> {
    const now = this.lastSeenAt;
    if (this.openedAt === undefined || now.getTime() - this.lastSeenWrittenAt < this.host.heartbeatIntervalMs) return;
    this.lastSeenWrittenAt = now.getTime();
    await recordSeen(em, this.serverId, this.openedAt, now);
  }

  private send(payload: ControlMessage['payload']): void {
    if (this.phase === 'ending' || this.finished) return;
    this.outboundSeq += 1n;
    this.call.write(create(ControlMessageSchema, { seq: this.outboundSeq, ack: this.inboundSeq, payload }));
  }

  // The call is over (status sent, cancelled or broken): after the message in progress, mark the row.
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.phase = 'ending';
    this.work = this.work
      .then(() => this.markUnreachable())
      .catch((error: unknown) => this.log.error({ err: error }, 'could not record the agent disconnect'))
      .finally(() => {
        this.host.forget(this);
        this.resolveDone();
      });
  }

  private async markUnreachable(): Promise<void> {
    this.host.release(this);
    if (this.openedAt === undefined) return;
    const em = this.host.orm.em.fork();
    const marked = await recordDisconnect(em, this.serverId, this.openedAt, this.lastSeenAt);
    this.log.info({ markedUnreachable: marked }, 'agent disconnected');
  }
}
