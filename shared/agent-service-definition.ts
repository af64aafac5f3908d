import { Buffer } from 'node:buffer';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { handleBidiStreamingCall, MethodDefinition } from '@grpc/grpc-js';
import {
  type AgentMessage,
  AgentMessageSchema,
  AgentService,
  type ControlMessage,
  ControlMessageSchema,
  type TelemetryAck,
  TelemetryAckSchema,
  type TelemetryBatch,
  TelemetryBatchSchema,
  type TerminalFromAgent,
  TerminalFromAgentSchema,
  type TerminalToAgent,
  TerminalToAgentSchema,
} from './gen/berth/agent/v1/agent_pb.js';

/**
 * Server-side handlers for `berth.agent.v1.AgentService`, in the shape grpc-js `Server.addService` takes.
 * Typing the implementation with this (`satisfies AgentServiceHandlers`) keeps the call's message types
 * checked, which grpc-js' own `UntypedServiceImplementation` does not.
 */
export type AgentServiceHandlers = {
  connect: handleBidiStreamingCall<AgentMessage, ControlMessage>;
  telemetry: handleBidiStreamingCall<TelemetryBatch, TelemetryAck>;
  terminal: handleBidiStreamingCall<TerminalFromAgent, TerminalToAgent>;
};

/**
 * The grpc-js service definition of `berth.agent.v1.AgentService`, with each method's message types.
 * It is assignable to grpc-js' `ServiceDefinition`.
 */
export type AgentServiceDefinition = {
  readonly connect: MethodDefinition<AgentMessage, ControlMessage>;
  readonly telemetry: MethodDefinition<TelemetryBatch, TelemetryAck>;
  readonly terminal: MethodDefinition<TerminalFromAgent, TerminalToAgent>;
};

/** Wraps protobuf-es output without copying: `toBinary` returns a fresh array that nothing else holds. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * `AgentService` for `@grpc/grpc-js`, built from the protobuf-es descriptors in `shared/gen` so no .proto
 * loader (and no second code generator) is needed. Pass it to `server.addService(...)` on the control plane,
 * or to `makeGenericClientConstructor(..., 'AgentService')` for a grpc-js client.
 *
 * The method path comes from the descriptor (`/berth.agent.v1.AgentService/Connect`), so it cannot drift from
 * what connect-es clients and servers use. Messages travel in the protobuf binary format; a payload that does
 * not decode makes `fromBinary` throw, which grpc-js turns into an INTERNAL status on that call.
 */
export const agentServiceDefinition: AgentServiceDefinition = {
  connect: {
    path: `/${AgentService.typeName}/${AgentService.method.connect.name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (message: AgentMessage) => asBuffer(toBinary(AgentMessageSchema, message)),
    requestDeserialize: (bytes: Buffer) => fromBinary(AgentMessageSchema, bytes),
    responseSerialize: (message: ControlMessage) => asBuffer(toBinary(ControlMessageSchema, message)),
    responseDeserialize: (bytes: Buffer) => fromBinary(ControlMessageSchema, bytes),
    originalName: AgentService.method.connect.name,
  },
  telemetry: {
    path: `/${AgentService.typeName}/${AgentService.method.telemetry.name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (message: TelemetryBatch) => asBuffer(toBinary(TelemetryBatchSchema, message)),
    requestDeserialize: (bytes: Buffer) => fromBinary(TelemetryBatchSchema, bytes),
    responseSerialize: (message: TelemetryAck) => asBuffer(toBinary(TelemetryAckSchema, message)),
    responseDeserialize: (bytes: Buffer) => fromBinary(TelemetryAckSchema, bytes),
    originalName: AgentService.method.telemetry.name,
  },
  terminal: {
    path: `/${AgentService.typeName}/${AgentService.method.terminal.name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (message: TerminalFromAgent) => asBuffer(toBinary(TerminalFromAgentSchema, message)),
    requestDeserialize: (bytes: Buffer) => fromBinary(TerminalFromAgentSchema, bytes),
    responseSerialize: (message: TerminalToAgent) => asBuffer(toBinary(TerminalToAgentSchema, message)),
    responseDeserialize: (bytes: Buffer) => fromBinary(TerminalToAgentSchema, bytes),
    originalName: AgentService.method.terminal.name,
  },
};
