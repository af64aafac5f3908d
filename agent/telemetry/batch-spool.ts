import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import nodePath from 'node:path';
import { readJsonFile, writeFileAtomic } from '../json-file.js';

/** A batch waiting in the spool. */
export interface SpooledBatch {
  seq: bigint;
  /** The batch's protobuf bytes. */
  bytes: Uint8Array;
}

/** Options of {@link openBatchSpool}. */
export interface BatchSpoolOptions {
  /** The folder it lives in (`<stateDir>/telemetry-spool`). */
  dir: string;
  /** How many batches it keeps at most (4320: six hours of 5 s batches); the oldest go first. */
  limit?: number;
}

/** Telemetry batches kept on disk until the control plane has stored them; see {@link openBatchSpool}. */
export interface BatchSpool {
  /** Identifies this spool in every batch (see the proto's TelemetryBatch.spool_id). */
  readonly spoolId: string;
  /** Writes a batch built for the next sequence number, dropping the oldest batches past the limit. */
  append(build: (seq: bigint) => Uint8Array): Promise<bigint>;
  /** Batches after `afterSeq` in order, at most `max` of them. */
  pending(afterSeq: bigint, max: number): Promise<SpooledBatch[]>;
  /** Forgets every batch up to and including `seq`: the control plane has it. */
  acknowledge(seq: bigint): Promise<void>;
  /** Queued batches and those dropped (since the spool was created) because it was full. */
  counts(): { queued: number; dropped: number };
}

interface SpoolMeta {
  spoolId: string;
  nextSeq: string;
  dropped: number;
}

const fileName = (seq: bigint) => `${seq.toString().padStart(20, '0')}.pb`;

/**
 * A bounded on-disk spool of telemetry batches: one file per batch, named by its sequence number, so appending
 * and acknowledging never rewrite what is already there and an agent restart loses nothing. When it is full
 * the oldest batch is dropped (the newest picture of the server matters most); the control plane sees the gap
 * in sequence numbers and reports it, and {@link BatchSpool.counts} says how many were dropped.
 */
export async function openBatchSpool(options: BatchSpoolOptions): Promise<BatchSpool> {
  const { dir } = options;
  const limit = options.limit ?? 4320;
  const metaFile = nodePath.join(dir, 'spool.json');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const saved = (await readJsonFile(metaFile)) as Partial<SpoolMeta> | undefined;
  const meta: SpoolMeta = {
    spoolId: saved?.spoolId ?? randomBytes(12).toString('hex'),
    nextSeq: saved?.nextSeq ?? '1',
    dropped: saved?.dropped ?? 0,
  };
  const seqs: bigint[] = (await readdir(dir))
    .filter((name) => /^\d{20}\.pb$/.test(name))
    .map((name) => BigInt(name.slice(0, 20)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // A crash between writing a batch and the meta file: never hand out a number already on disk.
  const last = seqs.at(-1);
  if (last !== undefined && BigInt(meta.nextSeq) <= last) meta.nextSeq = (last + 1n).toString();
  const saveMeta = () => writeFileAtomic(metaFile, JSON.stringify(meta));
  if (saved === undefined) await saveMeta();
  let chain: Promise<unknown> = Promise.resolve();
  // Appends and acknowledgements change the same list and files: one at a time.
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };

  return {
    spoolId: meta.spoolId,
    append: (build) =>
      serial(async () => {
        const seq = BigInt(meta.nextSeq);
        meta.nextSeq = (seq + 1n).toString();
        await writeFile(nodePath.join(dir, fileName(seq)), build(seq), { mode: 0o600 });
        seqs.push(seq);
        while (seqs.length > limit) {
          const oldest = seqs.shift()!;
          meta.dropped += 1;
          await rm(nodePath.join(dir, fileName(oldest)), { force: true });
        }
        await saveMeta();
        return seq;
      }),
    async pending(afterSeq, max) {
      const wanted = seqs.filter((seq) => seq > afterSeq).slice(0, max);
      const batches: SpooledBatch[] = [];
      for (const seq of wanted) {
        try {
          batches.push({ seq, bytes: await readFile(nodePath.join(dir, fileName(seq))) });
        } catch (error) {
          // Acknowledged or dropped meanwhile.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      return batches;
    },
    acknowledge: (seq) =>
      serial(async () => {
        while (seqs.length > 0 && seqs[0]! <= seq) {
          const done = seqs.shift()!;
          await rm(nodePath.join(dir, fileName(done)), { force: true });
        }
      }),
    counts: () => ({ queued: seqs.length, dropped: meta.dropped }),
  };
}
