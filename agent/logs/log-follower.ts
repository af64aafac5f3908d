import nodePath from 'node:path';
import type { Readable } from 'node:stream';
import { create, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type Dockerode from 'dockerode';
import { type RuntimeLogLine, TelemetryBatchSchema } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import { createJsonPersister, readJsonFile } from '../json-file.js';
import type { BatchSpool } from '../telemetry/batch-spool.js';
import { followLogLines, type LogLine } from '../workloads/log-lines.js';
import { berthLabels } from '../workloads/spec.js';

/** Options of {@link createLogFollower}. */
export interface LogFollowerOptions {
  docker: Pick<Dockerode, 'listContainers' | 'getContainer' | 'getEvents'>;
  spool: BatchSpool;
  /** Called after a batch is spooled, so the link sends it. */
  wake(): void;
  stateDir: string;
  log: Logger;
  /** Lines are held this long at most before they are spooled (50 ms): a burst becomes one batch. */
  flushMs?: number;
  /** A batch holds at most this many lines (500). */
  maxLinesPerBatch?: number;
  /** How often the Berth containers are listed again, in case Docker's event stream missed a start (5 s). */
  refreshMs?: number;
}

/** Where the follower is in one container's output, saved so an agent restart neither loses nor repeats lines. */
interface Cursor {
  /** The newest line's timestamp, and how many lines carried exactly that timestamp. */
  lastAt: string | null;
  seenAtLast: number;
  /** Lines sent so far. */
  sequence: number;
  /** The container stopped and its output was read to the end. */
  done: boolean;
}

/** The channel name of log batches (TelemetryBatch.channel). */
export const logsChannel = 'logs';
const maxMessageBytes = 16 * 1024;
const keptCursors = 500;

/**
 * Follows the output of every Berth container (`berth.managed=true`, nothing else) with Docker's log stream — one
 * long-lived `follow` request per container, never polling — from its very first line: a container found by
 * Docker's event stream the moment it starts, or by the periodic listing, is read from the beginning, so
 * nothing it printed before it was found is missed. Lines are batched (at most `flushMs` late) into the logs
 * spool, which the link sends on its own stream; the per-container cursor survives agent restarts.
 */
export function createLogFollower(options: LogFollowerOptions) {
  const { docker, spool, log } = options;
  const flushMs = options.flushMs ?? 50;
  const maxLines = options.maxLinesPerBatch ?? 500;
  const refreshMs = options.refreshMs ?? 5_000;
  const cursorFile = nodePath.join(options.stateDir, 'log-cursors.json');
  let cursors = new Map<string, Cursor | CursorState>();
  const persister = createJsonPersister(
    cursorFile,
    () =>
      Object.fromEntries(
        [...cursors]
          .slice(-keptCursors)
          .map(([id, c]) => [id, { lastAt: c.lastAt, seenAtLast: c.seenAtLast, sequence: c.sequence, done: c.done }]),
      ),
    (error) => log.error({ err: error, file: cursorFile }, 'could not save the log cursors'),
  );
  const followed = new Map<string, AbortController>();
  let pending: RuntimeLogLine[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let refreshTimer: NodeJS.Timeout | undefined;
  let events: Readable | undefined;
  let stopped = true;

  function flush(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (pending.length === 0) return flushing;
    const lines = pending;
    pending = [];
    flushing = flushing
      .then(async () => {
        await spool.append((seq) =>
          toBinary(
            TelemetryBatchSchema,
            create(TelemetryBatchSchema, {
              spoolId: spool.spoolId,
              batchSeq: seq,
              channel: logsChannel,
              logLines: lines,
            }),
          ),
        );
        options.wake();
        persister.schedule();
      })
      .catch((error: unknown) => log.error({ err: error }, 'logs: could not spool a batch of lines'));
    return flushing;
  }

  function accept(containerId: string, labels: Record<string, string>, line: LogLine): void {
    const cursor = cursors.get(containerId) as CursorState;
    if (cursor.skipAt !== null) {
      // Resuming: Docker's `since` has whole seconds, so skip what was sent before (counting that millisecond's lines).
      if (line.at < cursor.skipAt) return;
      if (line.at === cursor.skipAt && cursor.skipCount > 0) {
        cursor.skipCount -= 1;
        return;
      }
      cursor.skipAt = null;
    }
    if (line.at === cursor.lastAt) cursor.seenAtLast += 1;
    else {
      cursor.lastAt = line.at;
      cursor.seenAtLast = 1;
    }
    cursor.sequence += 1;
    const bytes = Buffer.from(line.line, 'utf8');
    pending.push({
      $typeName: 'berth.agent.v1.RuntimeLogLine',
      observedAt: timestampFromDate(new Date(line.at)),
      containerId,
      projectId: labels[berthLabels.project] ?? '',
      environmentId: labels[berthLabels.environment] ?? '',
      resourceId: labels[berthLabels.resource] ?? '',
      deploymentId: labels[berthLabels.deployment] ?? '',
      serviceName: labels[berthLabels.service] ?? 'web',
      stream: line.stream,
      message: bytes.length > maxMessageBytes ? bytes.subarray(0, maxMessageBytes).toString('utf8') : line.line,
      sequence: BigInt(cursor.sequence),
    });
    if (pending.length >= maxLines) void flush();
    else flushTimer ??= setTimeout(() => void flush(), flushMs);
  }

  function follow(containerId: string, labels: Record<string, string>): void {
    if (followed.has(containerId) || stopped) return;
    const saved = cursors.get(containerId);
    const cursor: CursorState = {
      lastAt: saved?.lastAt ?? null,
      seenAtLast: saved?.seenAtLast ?? 0,
      sequence: saved?.sequence ?? 0,
      done: false,
      skipAt: saved?.lastAt ?? null,
      skipCount: saved?.seenAtLast ?? 0,
    };
    cursors.set(containerId, cursor);
    const abort = new AbortController();
    followed.set(containerId, abort);
    const since = cursor.lastAt === null ? undefined : new Date(Math.floor(Date.parse(cursor.lastAt) / 1000) * 1000);
    void followLogLines(docker as Dockerode, containerId, { signal: abort.signal, ...(since ? { since } : {}) }, (l) =>
      accept(containerId, labels, l),
    )
      .then(() => {
        // The engine ended the stream: the container stopped (its output is complete) unless we stopped following.
        if (!abort.signal.aborted) cursor.done = true;
      })
      .catch((error: unknown) => log.warn({ err: error, containerId }, 'logs: could not follow a container'))
      .finally(() => {
        if (followed.get(containerId) === abort) followed.delete(containerId);
        persister.schedule();
      });
  }

  async function refresh(): Promise<void> {
    const containers = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`${berthLabels.managed}=true`] }),
    });
    const present = new Set<string>();
    for (const c of containers) {
      present.add(c.Id);
      const cursor = cursors.get(c.Id);
      // A stopped container whose output was read to the end has nothing more to say until it starts again.
      if (c.State !== 'running' && cursor?.done) continue;
      if (c.State === 'running' && cursor?.done) cursor.done = false;
      follow(c.Id, c.Labels ?? {});
    }
    for (const id of [...cursors.keys()]) if (!present.has(id) && !followed.has(id)) cursors.delete(id);
  }

  async function watchEvents(): Promise<void> {
    try {
      const stream = (await docker.getEvents({
        filters: { type: ['container'], event: ['start'], label: [`${berthLabels.managed}=true`] },
      })) as unknown as Readable;
      if (stopped) {
        stream.destroy();
        return;
      }
      events = stream;
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          const raw = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          try {
            const event = JSON.parse(raw) as { id?: string; Actor?: { Attributes?: Record<string, string> } };
            if (!event.id) continue;
            const cursor = cursors.get(event.id);
            if (cursor) cursor.done = false;
            follow(event.id, event.Actor?.Attributes ?? {});
          } catch {
            // A partial or foreign line: the periodic listing catches what it would have said.
          }
        }
      });
      stream.on('error', () => undefined);
      stream.on('close', () => {
        if (events === stream) events = undefined;
      });
    } catch (error) {
      log.debug({ err: error }, 'logs: no Docker event stream; the periodic listing finds new containers');
    }
  }

  function tick(): void {
    refresh().catch((error: unknown) => log.debug({ err: error }, 'logs: could not list the containers'));
    if (events === undefined) void watchEvents();
  }

  return {
    async start(): Promise<void> {
      if (!stopped) return;
      stopped = false;
      const saved = (await readJsonFile(cursorFile).catch(() => undefined)) as Record<string, Cursor> | undefined;
      cursors = new Map(Object.entries(saved ?? {}).map(([id, c]) => [id, { ...c }]));
      tick();
      refreshTimer = setInterval(tick, refreshMs);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(refreshTimer);
      events?.destroy();
      events = undefined;
      for (const abort of followed.values()) abort.abort();
      followed.clear();
      await flush();
      persister.schedule();
      await persister.flush();
    },
    /** How many containers are followed now. */
    followedCount: () => followed.size,
  };
}
export type LogFollower = ReturnType<typeof createLogFollower>;

/** A cursor while its container is followed: where the lines sent before this follow began end. */
interface CursorState extends Cursor {
  skipAt: string | null;
  skipCount: number;
}
