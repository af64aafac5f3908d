import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { agentServiceDefinition } from '../../shared/agent-service-definition.js';
import {
  type AgentMessage,
  AgentMessageSchema,
  type Command,
  CommandAckSchema,
  CommandResultSchema,
  type ControlMessage,
  DockerFactsSchema,
  HeartbeatSchema,
  HelloSchema,
  HostFactsSchema,
  type Welcome,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { gatewayServerName } from '../../shared/pki.js';
import { sampleResultOf } from './command-samples.js';

/** What the fake agent's handler says a command did. */
export interface FakeCommandOutcome {
  succeeded: boolean;
  result?: unknown;
  errorCode?: string;
  errorMessage?: string;
}

/**
 * What survives a reconnect, as on a real agent: the replay cache of handled command ids (a resent id is
 * answered from it, never run again) and how many times each command really ran.
 */
export interface FakeAgentMemory {
  replay: Map<string, FakeCommandOutcome>;
  executions: Map<string, number>;
}

/** A fresh {@link FakeAgentMemory}; share one between the connections of the same agent. */
export function createFakeAgentMemory(): FakeAgentMemory {
  return { replay: new Map(), executions: new Map() };
}

/** Options of {@link FakeAgent}. */
export interface FakeAgentOptions {
  port: number;
  host?: string;
  /** The agent CA the gateway's certificate is checked against. */
  caPem: string;
  keyPem: string;
  certPem: string;
  serverId: string;
  /** The Hello's server id when it should differ from the certificate's. */
  helloServerId?: string;
  memory?: FakeAgentMemory;
  /** Runs a command the first time its id is seen; by default it succeeds with its kind's sample result. */
  execute?: (command: Command) => FakeCommandOutcome | Promise<FakeCommandOutcome>;
  /** Heartbeat every Welcome.heartbeat_interval_ms, as a real agent does (default true). */
  autoHeartbeat?: boolean;
}

type Payload = AgentMessage['payload'];
type PayloadValue<K> = Extract<ControlMessage['payload'], { case: K }>['value'];

/**
 * A minimal agent for gateway tests: one grpc-js Connect stream over mutual TLS with the key and certificate
 * the test issued. It sends Hello on `connect()`, heartbeats and raw messages on demand, acknowledges and
 * answers commands through its replay cache, and records every message and the final status.
 */
export class FakeAgent {
  /** Every ControlMessage received, in order. */
  readonly received: ControlMessage[] = [];
  /** The stream's final status, once it has ended. */
  readonly ended: Promise<grpc.StatusObject>;
  /** The shared memory of this agent (replay cache, execution counts). */
  readonly memory: FakeAgentMemory;
  /** While false, commands run (once) but are neither acknowledged nor answered. */
  respond = true;
  /** The next AgentMessage seq; tests may rewind it. */
  nextSeq = 1n;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<AgentMessage, ControlMessage>;
  private readonly events = new EventEmitter();
  private lastReceivedSeq = 0n;
  private work: Promise<void> = Promise.resolve();
  private finalStatus: grpc.StatusObject | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: FakeAgentOptions) {
    this.memory = options.memory ?? createFakeAgentMemory();
    const credentials = grpc.credentials.createSsl(
      Buffer.from(options.caPem),
      Buffer.from(options.keyPem),
      Buffer.from(options.certPem),
    );
    // Own connection per fake agent, as real agents on different machines have.
    this.client = new grpc.Client(`${options.host ?? '127.0.0.1'}:${options.port}`, credentials, {
      'grpc.use_local_subchannel_pool': 1,
      // The name every gateway certificate carries, as the real agent checks it (the CA is pinned).
      'grpc.ssl_target_name_override': gatewayServerName,
    });
    const method = agentServiceDefinition.connect;
    // No deadline: the agent stream is long-lived (STACK.md P9).
    this.call = this.client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      new grpc.Metadata(),
      {},
    );
    this.call.on('data', (message: ControlMessage) => this.onMessage(message));
    this.call.on('error', () => undefined); // the 'status' event carries the same information
    this.ended = new Promise((resolve) => {
      this.call.on('status', (status: grpc.StatusObject) => {
        this.finalStatus = status;
        clearInterval(this.heartbeatTimer);
        this.events.emit('message');
        resolve(status);
      });
    });
  }

  /** Sends the Hello and resolves with the Welcome; rejects with the status text if the stream ends instead. */
  async connect(): Promise<Welcome> {
    this.send({
      case: 'hello',
      value: create(HelloSchema, {
        serverId: this.options.helloServerId ?? this.options.serverId,
        agentVersion: '0.1.0-test',
        capabilities: ['docker'],
        host: create(HostFactsSchema, {
          hostname: 'fake-host',
          os: 'linux',
          kernel: '6.1.0-test',
          arch: 'x64',
          cpuCount: 4,
          memoryBytes: 8n * 1024n ** 3n,
        }),
        docker: create(DockerFactsSchema, { reachable: true, version: '20.10.24', apiVersion: '1.41' }),
      }),
    });
    const first = await this.waitFor((message) => message, 5000);
    if (first.payload.case !== 'welcome') throw new Error(`expected a Welcome, got ${first.payload.case}`);
    const welcome = first.payload.value;
    if (this.options.autoHeartbeat !== false && this.finalStatus === undefined) {
      this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), welcome.heartbeatIntervalMs);
    }
    return welcome;
  }

  /** Sends one envelope with the next seq (or `seq` when given) and the current ack. */
  send(payload: Payload, seq?: bigint): void {
    // A stream that is over takes no more writes (a late heartbeat or command answer is simply dropped).
    if (this.call.writableEnded || this.finalStatus !== undefined) return;
    const messageSeq = seq ?? this.nextSeq;
    this.nextSeq = messageSeq + 1n;
    this.call.write(create(AgentMessageSchema, { seq: messageSeq, ack: this.lastReceivedSeq, payload }));
  }

  /** Stops the automatic heartbeats: the agent goes silent but keeps its stream open. */
  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
  }

  /** Sends a Heartbeat and waits for its HeartbeatAck. */
  async heartbeat(): Promise<void> {
    const before = this.received.length;
    this.sendHeartbeat();
    await this.waitFor((message, index) => (index >= before && message.payload.case === 'heartbeatAck') || undefined);
  }

  /**
   * Resolves with the first received message (from the start) for which `match` returns something other than
   * undefined; rejects if the stream ends first or after `timeoutMs`.
   */
  waitFor<T>(match: (message: ControlMessage, index: number) => T | undefined, timeoutMs = 3000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (const [index, message] of this.received.entries()) {
          const found = match(message, index);
          if (found !== undefined) return finish(() => resolve(found));
        }
        if (this.finalStatus !== undefined) {
          const { code, details } = this.finalStatus;
          finish(() => reject(new Error(`stream ended (${grpc.status[code]}: ${details})`)));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error('timed out waiting for a message'))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.events.off('message', check);
        settle();
      };
      this.events.on('message', check);
      check();
    });
  }

  /** The payloads received so far of one kind. */
  payloads<K extends NonNullable<ControlMessage['payload']['case']>>(kind: K): PayloadValue<K>[] {
    const values: PayloadValue<K>[] = [];
    for (const { payload } of this.received) {
      if (payload.case === kind) values.push(payload.value as PayloadValue<K>);
    }
    return values;
  }

  /** Half-closes the stream (as an agent shutting down does) and waits for the final status. */
  async close(): Promise<grpc.StatusObject> {
    this.stopHeartbeats();
    this.call.end();
    const status = await this.ended;
    await this.work;
    return status;
  }

  /** Closes the client's connection at once (a killed agent); safe to call after `close()`. */
  async dispose(): Promise<void> {
    this.stopHeartbeats();
    this.call.cancel();
    this.client.close();
    await this.ended;
    await this.work;
  }

  private sendHeartbeat(): void {
    this.send({ case: 'heartbeat', value: create(HeartbeatSchema, { observedAt: timestampFromDate(new Date()) }) });
  }

  private onMessage(message: ControlMessage): void {
    this.lastReceivedSeq = message.seq;
    this.received.push(message);
    if (message.payload.case === 'command') {
      const command = message.payload.value;
      this.work = this.work.then(() => this.handleCommand(command));
    }
    this.events.emit('message');
  }

  private async handleCommand(command: Command): Promise<void> {
    const { replay, executions } = this.memory;
    let outcome = replay.get(command.commandId);
    if (outcome === undefined) {
      executions.set(command.commandId, (executions.get(command.commandId) ?? 0) + 1);
      outcome = this.options.execute
        ? await this.options.execute(command)
        : { succeeded: true, result: sampleResultOf(command.kind) };
      replay.set(command.commandId, outcome);
    }
    if (!this.respond || this.finalStatus !== undefined) return;
    const { commandId } = command;
    this.send({ case: 'commandAck', value: create(CommandAckSchema, { commandId }) });
    this.send({
      case: 'commandResult',
      value: create(CommandResultSchema, {
        commandId,
        succeeded: outcome.succeeded,
        errorCode: outcome.errorCode ?? '',
        errorMessage: outcome.errorMessage ?? '',
        resultJson:
          outcome.result === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(outcome.result)),
      }),
    });
  }
}
