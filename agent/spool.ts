import { createJsonPersister, readJsonFile } from './json-file.js';

/** An event waiting to be sent: the proto's Event with its time as ISO 8601. */
export interface SpooledEvent {
  kind: string;
  observedAt: string;
  attributes: Record<string, string>;
}

/** Options of {@link createSpool}. */
export interface SpoolOptions {
  /** The JSON file it is persisted to (`<stateDir>/spool.json`). */
  file: string;
  /** How many events it holds at most; the oldest is dropped first. */
  limit?: number;
  onPersistError: (error: unknown) => void;
}

/** Events kept while the link is down; see {@link createSpool}. */
export interface Spool {
  /** Reads the persisted events; a missing file is an empty spool. */
  load(): Promise<void>;
  /** Queues an event, dropping (and counting) the oldest when full. */
  push(event: SpooledEvent): void;
  /** Takes every queued event and the drop count, leaving the spool empty. */
  takeAll(): { events: SpooledEvent[]; dropped: number };
  /**
   * Puts back what could not be sent, in front of anything queued since, so the order is kept. The limit still
   * applies (the oldest go first) and `dropped` is added to the count.
   */
  putBack(events: SpooledEvent[], dropped: number): void;
  /** How many events are queued and how many were dropped since the last successful send. */
  counts(): { queued: number; dropped: number };
  flush(): Promise<void>;
}

/**
 * A bounded local spool (1000 events by default) for events observed while the link is down. It lives in
 * memory and is persisted on every change, so an agent restart keeps it. Dropping the oldest rather than the
 * newest keeps the most recent picture of the server, and the drop count is reported so the gap is visible.
 */
export function createSpool(options: SpoolOptions): Spool {
  const limit = options.limit ?? 1000;
  let events: SpooledEvent[] = [];
  let dropped = 0;
  const persister = createJsonPersister(options.file, () => ({ version: 1, dropped, events }), options.onPersistError);

  function trim(): void {
    if (events.length <= limit) return;
    const excess = events.length - limit;
    events = events.slice(excess);
    dropped += excess;
  }

  return {
    async load() {
      const raw = (await readJsonFile(options.file)) as { events?: unknown; dropped?: unknown } | undefined;
      if (raw === undefined) return;
      if (!Array.isArray(raw.events)) throw new Error(`${options.file} has no "events" list`);
      events = raw.events as SpooledEvent[];
      dropped = typeof raw.dropped === 'number' ? raw.dropped : 0;
      trim();
    },
    push(event) {
      events.push(event);
      trim();
      persister.schedule();
    },
    takeAll() {
      const taken = { events, dropped };
      events = [];
      dropped = 0;
      persister.schedule();
      return taken;
    },
    putBack(unsent, unsentDropped) {
      events = [...unsent, ...events];
      dropped += unsentDropped;
      trim();
      persister.schedule();
    },
    counts: () => ({ queued: events.length, dropped }),
    flush: () => persister.flush(),
  };
}
