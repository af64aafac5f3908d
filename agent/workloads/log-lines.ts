import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Dockerode from 'dockerode';

/** One line a container wrote, without its newline. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
  /** When the engine received it, ISO 8601 with milliseconds. */
  at: string;
}

/**
 * Splits the body of a non-following `GET /containers/{id}/logs?timestamps=1` into lines. Without a TTY the
 * body is multiplexed: frames of an 8-byte header (stream type, 3 zero bytes, big-endian length) and a
 * payload. A body that does not start like a frame (a TTY container's) is read as plain stdout.
 */
export function parseLogBuffer(body: Buffer): LogLine[] {
  const lines: LogLine[] = [];
  const collect = (stream: LogLine['stream']) => lineSplitter(stream, (line) => lines.push(line));
  const stdout = collect('stdout');
  const stderr = collect('stderr');
  if (!looksMultiplexed(body)) {
    stdout.push(body);
    stdout.flush();
    return lines;
  }
  let offset = 0;
  while (offset + 8 <= body.length) {
    const type = body[offset]!;
    const length = body.readUInt32BE(offset + 4);
    const payload = body.subarray(offset + 8, offset + 8 + length);
    (type === 2 ? stderr : stdout).push(payload);
    offset += 8 + length;
  }
  stdout.flush();
  stderr.flush();
  return lines;
}

/** Options of {@link followLogLines}. */
export interface FollowLogLinesOptions {
  /** Only lines written at or after this moment; everything the container kept when undefined. */
  since?: Date;
  /** Stops following; the promise then resolves. */
  signal: AbortSignal;
}

/**
 * Streams a container's stdout and stderr lines to `onLine` until the container stops (the engine ends the
 * stream) or `signal` fires. Resolves in both cases; rejects only when the engine refuses the request.
 */
export async function followLogLines(
  docker: Dockerode,
  containerId: string,
  options: FollowLogLinesOptions,
  onLine: (line: LogLine) => void,
): Promise<void> {
  if (options.signal.aborted) return;
  let stream: NodeJS.ReadableStream & { destroy(): void };
  try {
    stream = (await docker.getContainer(containerId).logs({
      follow: true,
      stdout: true,
      stderr: true,
      timestamps: true,
      ...(options.since === undefined ? {} : { since: options.since.getTime() / 1000 }),
      abortSignal: options.signal,
    })) as typeof stream;
  } catch (error) {
    if (options.signal.aborted) return;
    throw error;
  }
  const stdout = lineSplitter('stdout', onLine);
  const stderr = lineSplitter('stderr', onLine);
  const sink = (splitter: ReturnType<typeof lineSplitter>) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        splitter.push(chunk);
        callback();
      },
    });
  docker.modem.demuxStream(stream, sink(stdout), sink(stderr));
  await new Promise<void>((resolve) => {
    const finish = () => {
      options.signal.removeEventListener('abort', finish);
      stream.destroy();
      resolve();
    };
    options.signal.addEventListener('abort', finish, { once: true });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
  stdout.flush();
  stderr.flush();
}

// A header whose stream type is stdin/stdout/stderr and whose three padding bytes are zero.
function looksMultiplexed(body: Buffer): boolean {
  return body.length >= 8 && body[0]! <= 2 && body[1] === 0 && body[2] === 0 && body[3] === 0;
}

/** Turns the chunks of one stream into lines; a line cut across chunks is joined before it is emitted. */
function lineSplitter(stream: LogLine['stream'], onLine: (line: LogLine) => void) {
  let pending = '';
  // Decodes across chunk boundaries, which may cut a multi-byte character in two.
  const decoder = new StringDecoder('utf8');
  const emit = (raw: string) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    onLine({ stream, ...splitTimestamp(line) });
  };
  return {
    push(chunk: Buffer) {
      pending += decoder.write(chunk);
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        emit(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    },
    /** Emits a last line that had no newline. */
    flush() {
      pending += decoder.end();
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}

// `timestamps=1` prefixes every line with the engine's RFC 3339 nanosecond time and a space.
function splitTimestamp(text: string): { line: string; at: string } {
  const space = text.indexOf(' ');
  const at = space > 0 ? new Date(text.slice(0, space)) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) return { line: text, at: new Date().toISOString() };
  return { line: text.slice(space + 1), at: at.toISOString() };
}
