import type { Logger } from '../shared/logger.js';
import type { DesiredStateDocument } from '../shared/runtime-command.js';

/** Options of {@link createDesiredState}. */
export interface DesiredStateOptions {
  reconcile(document: DesiredStateDocument): Promise<void>;
  /** How often the last document is reconciled again, so drift is caught without a new document. */
  intervalMs: number;
  log: Logger;
}

const decoder = new TextDecoder();

/**
 * Holds the newest desired-state document the control plane sent and reconciles Docker to it: at once when a
 * newer version arrives, and again every `intervalMs`. Runs never overlap; an older or repeated version is ignored.
 * Nothing is reconciled before the first document: an agent that has not heard from the control plane leaves the
 * containers it finds alone.
 */
export function createDesiredState(options: DesiredStateOptions) {
  let version = 0n;
  let document: DesiredStateDocument | undefined;
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  function run(): void {
    if (document === undefined) return;
    if (again) return;
    again = true;
    running = running.then(async () => {
      again = false;
      try {
        if (document) await options.reconcile(document);
      } catch (error) {
        options.log.warn({ err: error }, 'reconciling the desired state failed');
      }
    });
  }

  return {
    /** The document held now (undefined before the first one). */
    current: (): DesiredStateDocument | undefined => document,
    /** A DesiredState message: kept and reconciled when it is newer than the one held. */
    receive(newVersion: bigint, json: Uint8Array): void {
      if (newVersion <= version) return;
      try {
        document = JSON.parse(decoder.decode(json)) as DesiredStateDocument;
        version = newVersion;
        options.log.info({ version: String(version), runtimes: document.runtimes.length }, 'desired state received');
        run();
      } catch (error) {
        options.log.warn({ err: error }, 'ignoring a desired state that is not valid JSON');
      }
    },
    start(): void {
      timer = setInterval(run, options.intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}
