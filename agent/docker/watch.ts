import type { DockerEngine, DockerFactsJson } from './engine.js';

/** Options of {@link createDockerWatch}. */
export interface DockerWatchOptions {
  engine: Pick<DockerEngine, 'facts'>;
  /** How often to look, in ms (30 s in production). */
  intervalMs: number;
  /** Called when reachability flips, with the facts that show the new state. Not called for the first look. */
  onChange: (facts: DockerFactsJson) => void;
}

/** A periodic Docker reachability check; see {@link createDockerWatch}. */
export interface DockerWatch {
  start(): void;
  /** Stops the timer and waits for a check in flight. */
  stop(): Promise<void>;
  /** The facts of the most recent check, if any. */
  last(): DockerFactsJson | undefined;
}

/**
 * Checks the engine every `intervalMs` and reports only transitions (reachable ⇄ unreachable). The first look
 * sets the baseline without an event: the Hello of every stream already carries the current Docker facts.
 * Checks never overlap: the next one is scheduled when the previous one has finished.
 */
export function createDockerWatch(options: DockerWatchOptions): DockerWatch {
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = true;
  let latest: DockerFactsJson | undefined;

  async function check(): Promise<void> {
    const facts = await options.engine.facts();
    const previous = latest;
    latest = facts;
    if (previous !== undefined && previous.reachable !== facts.reachable) options.onChange(facts);
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      inFlight = check().finally(() => {
        inFlight = undefined;
        if (!stopped) schedule(options.intervalMs);
      });
    }, delayMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
    last: () => latest,
  };
}
