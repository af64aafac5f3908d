import os from 'node:os';
import { progress, round } from './stats.js';

/** The machine a bench runs on, for its report. */
export function machineInfo() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 1024 ** 3),
    node: process.version,
    kernel: os.release(),
    loadAverageAtStart: os.loadavg().map((load) => round(load, 2)),
  };
}

/** Undo steps of what a bench has started so far. */
export class UndoSteps {
  private readonly steps: Array<{ what: string; run: () => Promise<unknown> }> = [];

  push(step: { what: string; run: () => Promise<unknown> }): void {
    this.steps.push(step);
  }

  /** Runs every step, last first, carrying on past failures; resolves with what failed (`what: first line`). */
  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.steps.reverse()) {
      await step.run().catch((error: unknown) => {
        failures.push(`${step.what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      });
    }
    return failures;
  }
}

/** What {@link runBench} runs. */
export interface BenchRun {
  startedAt: number;
  timeoutSeconds: number;
  /** The report `timedOutIn`, `error` and `failedIn` are written to. */
  report: Record<string, unknown>;
  /** The step under way. */
  phase: () => string;
  main: () => Promise<void>;
  /** Cleans up and writes the report for `outcome`; called once at the most. */
  finish: (outcome: string) => Promise<void>;
}

/**
 * Runs `main`, then `finish('completed')`; on an error `finish('failed')` with the error in the report (exit code
 * 1). A global timeout (exit 2) or SIGINT/SIGTERM (exit 130) cleans up through `finish` too. Ends the process.
 */
export async function runBench(run: BenchRun): Promise<void> {
  const { startedAt, report } = run;
  let finished = false;
  const finish = async (outcome: string) => {
    if (finished) return;
    finished = true;
    await run.finish(outcome);
  };
  const watchdog = setTimeout(() => {
    progress(startedAt, `global timeout (${run.timeoutSeconds} s) during ${run.phase()}: cleaning up`);
    report['timedOutIn'] = run.phase();
    void finish('timeout').finally(() => process.exit(2));
  }, run.timeoutSeconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(startedAt, `${signal}: cleaning up`);
      void finish('interrupted').finally(() => process.exit(130));
    });
  }
  try {
    await run.main();
    await finish('completed');
  } catch (error) {
    report['error'] = error instanceof Error ? error.stack : String(error);
    report['failedIn'] = run.phase();
    // Past clean-up already (the report itself failed): say so, nothing else will.
    if (finished) progress(startedAt, `report failed: ${report['error']}`);
    await finish('failed');
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
  progress(startedAt, 'done');
  process.exit();
}
