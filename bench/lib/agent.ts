import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { type DialedCall, dialConnect } from '../../agent/connection/dial.js';
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
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { gatewayServerName } from '../../shared/pki.js';
import type { AgentIdentity } from './seed.js';

/** What every simulated agent of one run reports into. */
export interface FleetStats {
  /** Heartbeat → HeartbeatAck round trips (ms), recorded while `recordHeartbeats` is on. */
  heartbeatRtts: number[];
  recordHeartbeats: boolean;
  heartbeatsSent: number;
  heartbeatAcks: number;
  /** Command id → ms from its issuedAt to its arrival here. */
  commandDelivery: Map<string, number>;
  /** Dial → channel READY (TCP, TLS and HTTP/2 set up), per connected agent (ms). */
  readyMs: number[];
  /** Channel READY → Welcome (the gateway's Hello handling), per connected agent (ms). */
  helloMs: number[];
  /** Streams that ended, by "CODE: details". */
  ends: Map<string, number>;
}

/** Empty {@link FleetStats}. */
export function createFleetStats(): FleetStats {
  return {
    heartbeatRtts: [],
    recordHeartbeats: false,
    heartbeatsSent: 0,
    heartbeatAcks: 0,
    commandDelivery: new Map(),
    readyMs: [],
    helloMs: [],
    ends: new Map(),
  };
}

const encoder = new TextEncoder();

/**
 * A minimal simulated agent, after test/helpers/fake-agent.ts but without its per-message history (10k of those
 * would grow for the whole run): it dials like the real agent (`agent/connection/dial.ts`: its own channel,
 * mTLS, keepalive 10 s), sends Hello, heartbeats at the Welcome's interval and answers each command at once
 * with an ack and a successful result.
 */
export class BenchAgent {
  private dialed: DialedCall | undefined;
  private nextSeq = 1n;
  private lastReceivedSeq = 0n;
  private timer: NodeJS.Timeout | undefined;
  private readonly pendingHeartbeats: number[] = [];
  private onWelcome: ((ms: number) => void) | undefined;
  private ended = false;

  constructor(
    private readonly identity: AgentIdentity,
    private readonly address: string,
    private readonly caPem: string,
    private readonly stats: FleetStats,
  ) {}

  /** Dials, sends Hello and resolves with the ms until the Welcome; rejects if the stream ends or times out first. */
  connect(timeoutMs: number): Promise<number> {
    const started = performance.now();
    const dialed = dialConnect({
      address: this.address,
      serverName: gatewayServerName,
      caPem: this.caPem,
      keyPem: this.identity.keyPem,
      certPem: this.identity.certPem,
    });
    this.dialed = dialed;
    let readyAt: number | undefined;
    const channel = dialed.client.getChannel();
    const watch = (state: grpc.connectivityState) => {
      if (state === grpc.connectivityState.READY) {
        readyAt = performance.now();
        return;
      }
      channel.watchConnectivityState(state, Date.now() + timeoutMs, (error) => {
        if (error === undefined) watch(channel.getConnectivityState(false));
      });
    };
    watch(channel.getConnectivityState(false));
    return new Promise<number>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error('no Welcome in time')), timeoutMs);
      this.onWelcome = (intervalMs) => {
        clearTimeout(timeout);
        this.timer = setInterval(() => this.heartbeat(), intervalMs);
        const now = performance.now();
        if (readyAt !== undefined) {
          this.stats.readyMs.push(readyAt - started);
          this.stats.helloMs.push(now - readyAt);
        }
        resolve(now - started);
      };
      dialed.call.on('data', (message: ControlMessage) => this.receive(message));
      dialed.call.on('error', () => undefined); // 'status' carries the same
      dialed.call.on('status', (status: grpc.StatusObject) => {
        this.ended = true;
        clearInterval(this.timer);
        const key = `${grpc.status[status.code]}: ${status.details}`;
        this.stats.ends.set(key, (this.stats.ends.get(key) ?? 0) + 1);
        clearTimeout(timeout);
        reject(new Error(`stream ended before the Welcome (${key})`));
      });
      this.send({
        case: 'hello',
        value: create(HelloSchema, {
          serverId: this.identity.serverId,
          agentVersion: '0.1.0-bench',
          capabilities: ['docker'],
          host: create(HostFactsSchema, {
            hostname: 'bench-host',
            os: 'linux',
            kernel: '6.1.0-bench',
            arch: 'x64',
            cpuCount: 4,
            memoryBytes: 8n * 1024n ** 3n,
          }),
          docker: create(DockerFactsSchema, { reachable: true, version: '20.10.24', apiVersion: '1.41' }),
        }),
      });
    });
  }

  /** True once the stream has ended (whoever ended it). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Cancels the stream and closes the channel. */
  dispose(): void {
    clearInterval(this.timer);
    this.dialed?.call.cancel();
    this.dialed?.client.close();
  }

  private heartbeat(): void {
    this.pendingHeartbeats.push(performance.now());
    this.stats.heartbeatsSent += 1;
    this.send({ case: 'heartbeat', value: create(HeartbeatSchema, { observedAt: timestampFromDate(new Date()) }) });
  }

  private receive(message: ControlMessage): void {
    this.lastReceivedSeq = message.seq;
    const { payload } = message;
    if (payload.case === 'welcome') {
      this.onWelcome?.(payload.value.heartbeatIntervalMs);
    } else if (payload.case === 'heartbeatAck') {
      const sentAt = this.pendingHeartbeats.shift();
      this.stats.heartbeatAcks += 1;
      if (sentAt !== undefined && this.stats.recordHeartbeats)
        this.stats.heartbeatRtts.push(performance.now() - sentAt);
    } else if (payload.case === 'command') {
      this.answer(payload.value);
    }
  }

  private answer(command: Command): void {
    const { commandId } = command;
    if (command.issuedAt !== undefined) {
      this.stats.commandDelivery.set(commandId, Date.now() - timestampDate(command.issuedAt).getTime());
    }
    this.send({ case: 'commandAck', value: create(CommandAckSchema, { commandId }) });
    const result = { ran: command.kind, hostname: 'bench-host' };
    this.send({
      case: 'commandResult',
      value: create(CommandResultSchema, {
        commandId,
        succeeded: true,
        resultJson: encoder.encode(JSON.stringify(result)),
      }),
    });
  }

  private send(payload: AgentMessage['payload']): void {
    const call = this.dialed?.call;
    if (call === undefined || this.ended || call.writableEnded) return;
    const seq = this.nextSeq;
    this.nextSeq += 1n;
    call.write(create(AgentMessageSchema, { seq, ack: this.lastReceivedSeq, payload }));
  }
}
