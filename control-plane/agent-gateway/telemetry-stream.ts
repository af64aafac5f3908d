import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { errorKinds } from '../../shared/errors.js';
import {
  type TelemetryAck,
  TelemetryAckSchema,
  type TelemetryBatch,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';
import { Server } from '../modules/servers/entity.js';
import { credentialProblem, type PeerIdentity } from './identity.js';

export type TelemetryCall = ServerDuplexStream<TelemetryBatch, TelemetryAck>;

/** Where the gateway hands telemetry (the monitoring module). */
export interface TelemetrySink {
  /** Stores one batch, unless that spool's batch was stored already; resolves once it is durable. */
  storeBatch(em: EntityManager, serverId: string, batch: TelemetryBatch, receivedAt: Date): Promise<void>;
}

/** What a telemetry stream needs from its gateway. */
export interface TelemetryStreamHost {
  orm: MikroORM;
  clock: Clock;
  log: Logger;
  sink: TelemetrySink;
}

// The credential is checked again at most this often while batches arrive (and on the stream's first batch).
const recheckMs = 5_000;
// Stop reading past this many unhandled batches; TCP then slows the agent down.
const maxBacklog = 64;

/**
 * Serves one agent's `Telemetry` stream: each batch is stored, then acknowledged, one at a time and in order,
 * so an ack for seq N means every batch up to N is stored. The client certificate is checked against the
 * server row when the first batch arrives and every few seconds after, so a revoked agent is cut off here too.
 */
export function serveTelemetryStream(call: TelemetryCall, identity: PeerIdentity, host: TelemetryStreamHost) {
  const log = host.log.child({ serverId: identity.serverId, stream: 'telemetry' });
  let checkedAt = Number.NEGATIVE_INFINITY;
  let chain: Promise<void> = Promise.resolve();
  let backlog = 0;
  let ended = false;

  function end(kind: keyof typeof errorKinds, details: string): void {
    if (ended) return;
    ended = true;
    call.emit('error', { code: errorKinds[kind].grpcStatus, details });
  }

  async function handle(batch: TelemetryBatch): Promise<void> {
    if (ended) return;
    const em = host.orm.em.fork();
    const now = host.clock();
    if (now.getTime() - checkedAt >= recheckMs) {
      const row = await em.findOne(
        Server,
        { id: identity.serverId },
        { fields: ['lifecycleStatus', 'credentialsRevokedAt', 'certificateSerial'] },
      );
      const problem = credentialProblem(row, identity);
      if (problem !== null) return end(problem.kind, problem.reason);
      checkedAt = now.getTime();
    }
    await host.sink.storeBatch(em, identity.serverId, batch, now);
    if (!ended) call.write(create(TelemetryAckSchema, { spoolId: batch.spoolId, batchSeq: batch.batchSeq }));
  }

  call.on('data', (batch: TelemetryBatch) => {
    backlog += 1;
    if (backlog >= maxBacklog) call.pause();
    chain = chain
      .then(() => handle(batch))
      .catch((error: unknown) => {
        log.error({ err: error }, 'could not store a telemetry batch; the agent will send it again');
        end('service_unavailable', 'the batch could not be stored; send it again');
      })
      .finally(() => {
        backlog -= 1;
        if (backlog < maxBacklog / 2) call.resume();
      });
  });
  call.on('end', () => {
    void chain.finally(() => {
      if (!ended) call.end();
      ended = true;
    });
  });
  call.on('error', () => undefined);
  return {
    /** Ends the stream (the gateway is stopping); the agent reconnects and resends what was not acknowledged. */
    close(details: string) {
      end('service_unavailable', details);
    },
  };
}
