import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';

/**
 * Writes `data` to `file` so that a reader (or a crash) sees either the old content or the new one, never a
 * torn file: it writes a temporary file next to it with `mode`, syncs it to disk, then renames it over `file`.
 */
export async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  // A random suffix: two writers of the same file must not share a temporary file.
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', mode);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  // The mode is applied at creation, before any byte is written; the umask can only clear bits, never widen 0600.
  await rename(temporary, file);
}

/** Reads and parses a JSON file; `undefined` when it does not exist. A file that is not JSON throws. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
}

/** Writes snapshots of some in-memory state to one JSON file, coalescing bursts; see {@link createJsonPersister}. */
export interface JsonPersister {
  /** Asks for the current snapshot to be written soon; returns at once. */
  schedule(): void;
  /** Resolves once everything scheduled so far is on disk; rejects with the last write error, if any. */
  flush(): Promise<void>;
}

/**
 * Persists `snapshot()` to `file`. Writes never overlap: a `schedule()` during a write marks the state dirty and
 * one more write with the latest snapshot follows, so a burst of changes costs at most two writes and an older
 * snapshot can never land after a newer one. A failed write is reported through `onError` and by `flush()`.
 */
export function createJsonPersister(
  file: string,
  snapshot: () => unknown,
  onError: (error: unknown) => void,
  mode = 0o600,
): JsonPersister {
  let dirty = false;
  let running: Promise<void> | undefined;
  let lastError: unknown;

  async function loop(): Promise<void> {
    while (dirty) {
      dirty = false;
      try {
        await writeFileAtomic(file, `${JSON.stringify(snapshot())}\n`, mode);
        lastError = undefined;
      } catch (error) {
        lastError = error;
      }
    }
    running = undefined;
    // Reported after the loop has ended, so a throwing onError cannot leave the persister stuck.
    if (lastError !== undefined) onError(lastError);
  }

  return {
    schedule() {
      dirty = true;
      running ??= loop();
    },
    async flush() {
      while (running) await running;
      if (lastError !== undefined) throw lastError;
    },
  };
}
