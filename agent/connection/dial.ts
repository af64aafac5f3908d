import { Buffer } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';
import { agentServiceDefinition } from '../../shared/agent-service-definition.js';
import type {
  AgentMessage,
  ControlMessage,
  TelemetryAck,
  TelemetryBatch,
  TerminalFromAgent,
  TerminalToAgent,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';

/** Where and how to dial the gateway; loaded fresh for every connection, so renewed credentials take effect. */
export interface LinkTarget {
  /** `host:port`. */
  address: string;
  /** The name the gateway's certificate must carry (the CA is pinned, so no DNS name is needed). */
  serverName: string;
  caPem: string;
  keyPem: string;
  certPem: string;
}

/** A new channel and its one Connect call. */
export interface DialedCall {
  client: grpc.Client;
  call: grpc.ClientDuplexStream<AgentMessage, ControlMessage>;
}

/**
 * Opens a bidi stream of `method` to `target` over mTLS on a channel (and so an HTTP/2 connection) of its own: a
 * backlog on one stream then shares no flow-control window with another. HTTP/2 keepalive pings every 10 s (5 s to
 * answer), even between calls, catch a vanished peer that the kernel will never report. Metadata is passed
 * explicitly and no CallOptions at all: grpc-js reads options only after a Metadata (STACK.md P8), and these streams
 * carry no deadline: they are meant to live for days (STACK.md P9).
 */
function dialStream<Req, Res>(
  target: LinkTarget,
  method: grpc.MethodDefinition<Req, Res>,
): { client: grpc.Client; call: grpc.ClientDuplexStream<Req, Res> } {
  const client = openChannel(target);
  const call = client.makeBidiStreamRequest<Req, Res>(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    new grpc.Metadata(),
  );
  return { client, call };
}

/** The agent's session: `Connect`. */
export function dialConnect(target: LinkTarget): DialedCall {
  return dialStream<AgentMessage, ControlMessage>(target, agentServiceDefinition.connect);
}

/** Monitoring samples and runtime log lines: `Telemetry` (one per spool). */
export function dialTelemetry(target: LinkTarget) {
  return dialStream<TelemetryBatch, TelemetryAck>(target, agentServiceDefinition.telemetry);
}

/** One terminal session: `Terminal`. */
export function dialTerminal(target: LinkTarget) {
  return dialStream<TerminalFromAgent, TerminalToAgent>(target, agentServiceDefinition.terminal);
}

function openChannel(target: LinkTarget): grpc.Client {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(target.caPem),
    Buffer.from(target.keyPem),
    Buffer.from(target.certPem),
  );
  return new grpc.Client(target.address, credentials, {
    'grpc.ssl_target_name_override': target.serverName,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    // A private channel per connection: new credentials after a renewal must not reuse a pooled subchannel.
    'grpc.use_local_subchannel_pool': 1,
  });
}
