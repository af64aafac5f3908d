import { fromBinary } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import {
  type TelemetryAck,
  type TelemetryBatch,
  TelemetryBatchSchema,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import { dialTelemetry, type LinkTarget } from '../connection/dial.js';
import type { BatchSpool } from './batch-spool.js';

/** Options of {@link createTelemetryLink}. */
export interface TelemetryLinkOptions {
  loadTarget: () => Promise<LinkTarget>;
  spool: BatchSpool;
  log: Logger;
  /** Batches sent and not yet acknowledged, at most (32). */
  window?: number;
  /** First wait before reopening a stream that failed while the link is wanted (1 s, doubling to 30 s). */
  retryMs?: number;
}

/** The agent's Telemetry stream; see {@link createTelemetryLink}. */
export interface TelemetryLink {
  /** Wanted from now on: opens the stream (again after failures) until {@link TelemetryLink.close}. */
  open(): void;
  /** Not wanted any more: ends the stream; unacknowledged batches stay in the spool. */
  close(): void;
  /** A batch was appended: send it if the stream is open. */
  wake(): void;
  /** Whether a stream is open, and the highest batch acknowledged through it. */
  status(): { open: boolean; acknowledgedSeq: string };
}

interface Stream {
  client: grpc.Client;
  call: grpc.ClientDuplexStream<TelemetryBatch, TelemetryAck>;
  /** The highest seq written on this stream. */
  sentSeq: bigint;
  inFlight: number;
}

/**
 * Sends the spool's batches on the `Telemetry` stream, in order, with at most `window` unacknowledged, and
 * forgets each one only when the control plane acknowledges it. The control plane's answers are in order, so
 * an ack for seq N acknowledges everything before it. When a stream breaks, whatever was sent but not
 * acknowledged is sent again on the next one: the control plane skips what it already stored.
 */
export function createTelemetryLink(options: TelemetryLinkOptions): TelemetryLink {
  const { spool, log } = options;
  const window = options.window ?? 32;
  const firstRetryMs = options.retryMs ?? 1_000;
  let wanted = false;
  let stream: Stream | undefined;
  let dialing = false;
  let retryMs = firstRetryMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let acknowledgedSeq = 0n;
  let pumping = false;
  let pumpAgain = false;

  async function dial(): Promise<void> {
    if (!wanted || stream !== undefined || dialing) return;
    dialing = true;
    let target: LinkTarget;
    try {
      target = await options.loadTarget();
    } catch (error) {
      dialing = false;
      log.warn({ err: error }, 'telemetry: credentials unreadable');
      scheduleRetry();
      return;
    }
    dialing = false;
    if (!wanted || stream !== undefined) return;
    const { client, call } = dialTelemetry(target);
    const opened: Stream = { client, call, sentSeq: acknowledgedSeq, inFlight: 0 };
    stream = opened;
    call.on('data', (ack: TelemetryAck) => {
      if (ack.spoolId !== spool.spoolId) return;
      retryMs = firstRetryMs;
      opened.inFlight = Math.max(0, opened.inFlight - 1);
      if (ack.batchSeq > acknowledgedSeq) acknowledgedSeq = ack.batchSeq;
      spool
        .acknowledge(ack.batchSeq)
        .catch((error: unknown) => log.error({ err: error }, 'telemetry: could not remove a sent batch'))
        .finally(() => pump());
    });
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      if (stream !== opened) return;
      stream = undefined;
      client.close();
      if (wanted) {
        log.debug({ code: status.code, details: status.details }, 'telemetry stream ended; reopening');
        scheduleRetry();
      }
    });
    pump();
  }

  function scheduleRetry(): void {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => void dial(), retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
  }

  function pump(): void {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    void (async () => {
      try {
        do {
          pumpAgain = false;
          const current = stream;
          if (current === undefined || current.inFlight >= window) break;
          const batches = await spool.pending(current.sentSeq, window - current.inFlight);
          for (const batch of batches) {
            if (stream !== current) break;
            current.call.write(fromBinary(TelemetryBatchSchema, batch.bytes));
            current.sentSeq = batch.seq;
            current.inFlight += 1;
          }
        } while (pumpAgain);
      } catch (error) {
        log.error({ err: error }, 'telemetry: could not read the spool');
      } finally {
        pumping = false;
      }
    })();
  }

  return {
    open() {
      wanted = true;
      void dial();
    },
    close() {
      wanted = false;
      clearTimeout(retryTimer);
      const current = stream;
      stream = undefined;
      if (current !== undefined) {
        current.call.cancel();
        current.client.close();
      }
    },
    wake: () => pump(),
    status: () => ({ open: stream !== undefined, acknowledgedSeq: acknowledgedSeq.toString() }),
  };
}
