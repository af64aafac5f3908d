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
 * Opens a `Connect` stream to `target` over mTLS on a channel of its own. HTTP/2 keepalive pings every 10 s
 * (5 s to answer), even between calls, catch a vanished peer that the kernel will never report. The call has no
 * deadline: it is meant to live for days (STACK.md P9).
 */
export function dialConnect(target: LinkTarget): DialedCall {
  const client = openChannel(target);
  const method = agentServiceDefinition.connect;
  // Metadata passed explicitly and no CallOptions at all: grpc-js reads options only after a Metadata
  // (STACK.md P8), and this stream must carry no deadline.
  const call = client.makeBidiStreamRequest<AgentMessage, ControlMessage>(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    new grpc.Metadata(),
  );
  return { client, call };
}

/**
 * Opens a `Telemetry` stream on a channel (and so an HTTP/2 connection) of its own: a backlog of samples then
 * shares no flow-control window with the commands on `Connect`. Like Connect, it has no deadline.
 */
export function dialTelemetry(target: LinkTarget): {
  client: grpc.Client;
  call: grpc.ClientDuplexStream<TelemetryBatch, TelemetryAck>;
} {
  const client = openChannel(target);
  const method = agentServiceDefinition.telemetry;
  const call = client.makeBidiStreamRequest<TelemetryBatch, TelemetryAck>(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    new grpc.Metadata(),
  );
  return { client, call };
}

/** Opens a `Terminal` stream for one terminal session, on a channel of its own. */
export function dialTerminal(target: LinkTarget): {
  client: grpc.Client;
  call: grpc.ClientDuplexStream<TerminalFromAgent, TerminalToAgent>;
} {
  const client = openChannel(target);
  const method = agentServiceDefinition.terminal;
  const call = client.makeBidiStreamRequest<TerminalFromAgent, TerminalToAgent>(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    new grpc.Metadata(),
  );
  return { client, call };
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
