import { createJsonPersister, readJsonFile } from './json-file.js';

/** A handled command's result as the agent sent it (CommandResult without the id), kept for resends. */
export interface CachedResult {
  succeeded: boolean;
  errorCode: string;
  errorMessage: string;
  /** The result JSON as text; empty when there is none. */
  resultJson: string;
  /** When the command finished, ISO 8601. */
  handledAt: string;
}

/** Options of {@link createReplayCache}. */
export interface ReplayCacheOptions {
  /** The JSON file it is persisted to (`<stateDir>/replay-cache.json`). */
  file: string;
  /** How many command ids it remembers; the oldest is forgotten first. */
  limit?: number;
  onPersistError: (error: unknown) => void;
}

/** The agent's memory of handled commands; see {@link createReplayCache}. */
export interface ReplayCache {
  /** Reads the persisted entries; a missing file is an empty cache. */
  load(): Promise<void>;
  get(commandId: string): CachedResult | undefined;
  /** Remembers a result and resolves once it is on disk, so a restart right after cannot run the command again. */
  remember(commandId: string, result: CachedResult): Promise<void>;
  size(): number;
  flush(): Promise<void>;
}

/**
 * Handled command ids with their results, bounded to the `limit` most recent (1000 by default) and persisted,
 * so a command the control plane resends after a reconnect or an agent restart is answered from here instead
 * of being run twice. Commands live far shorter than 1000 commands' worth of history, so eviction only ever
 * drops ids the control plane has long stopped resending.
 */
export function createReplayCache(options: ReplayCacheOptions): ReplayCache {
  const limit = options.limit ?? 1000;
  // A Map iterates in insertion order, which makes it a FIFO for eviction.
  const entries = new Map<string, CachedResult>();
  const persister = createJsonPersister(
    options.file,
    () => ({ version: 1, entries: [...entries].map(([commandId, result]) => ({ commandId, ...result })) }),
    options.onPersistError,
  );

  function evict(): void {
    while (entries.size > limit) entries.delete(entries.keys().next().value!);
  }

  return {
    async load() {
      const raw = (await readJsonFile(options.file)) as { entries?: unknown } | undefined;
      if (raw === undefined) return;
      if (!Array.isArray(raw.entries)) throw new Error(`${options.file} has no "entries" list`);
      for (const entry of raw.entries as Array<CachedResult & { commandId: string }>) {
        const { commandId, ...result } = entry;
        if (typeof commandId === 'string') entries.set(commandId, result);
      }
      evict();
    },
    get: (commandId) => entries.get(commandId),
    async remember(commandId, result) {
      entries.delete(commandId);
      entries.set(commandId, result);
      evict();
      persister.schedule();
      await persister.flush();
    },
    size: () => entries.size,
    flush: () => persister.flush(),
  };
}
