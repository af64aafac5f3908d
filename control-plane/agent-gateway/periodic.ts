import type { Logger } from '../../shared/logger.js';

/** A job that runs every `intervalMs`, never overlapping itself, owned by whoever calls `stop()`. */
export interface PeriodicTask {
  start(): void;
  /** Cancels the next run and waits for a run in progress, so nothing touches the database afterwards. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs` (measured from the end of the previous run, so a slow run never piles up).
 * A failing run is logged and the schedule goes on: a sweep that fails once (database restarting) must not stop
 * for good.
 */
export function createPeriodicTask(
  name: string,
  intervalMs: number,
  run: () => Promise<void>,
  log: Logger,
): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const tick = () => {
    timer = undefined;
    running = run()
      .catch((error: unknown) => log.error({ err: error, task: name }, 'periodic task failed'))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setTimeout(tick, intervalMs);
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
