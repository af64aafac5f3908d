import { sleep } from './stats.js';

/** How a poll of {@link waitForAnswer} ended. */
export interface AnswerResult {
  /** `performance.now()` when the expected body arrived. */
  answeredAt: number;
  /** Requests sent, the answering one included. */
  requests: number;
}

/**
 * Sends `GET url` every `everyMs` (measured from the end of the previous request, each given up after 1 s) until
 * one answers 200 with `expected` as its trimmed body; a refused connection, another status or another body (the
 * previous version) counts as "not yet". Throws, quoting the last answer seen, after `timeoutMs`.
 */
export async function waitForAnswer(
  url: string,
  expected: string,
  options: { everyMs: number; timeoutMs: number },
): Promise<AnswerResult> {
  const deadline = performance.now() + options.timeoutMs;
  let requests = 0;
  let last = 'nothing yet';
  for (;;) {
    requests += 1;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      const body = (await res.text()).trim();
      if (res.status === 200 && body === expected) return { answeredAt: performance.now(), requests };
      last = `${res.status} ${body.slice(0, 80)}`;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    if (performance.now() > deadline) {
      throw new Error(`${url} did not answer "${expected}" within ${options.timeoutMs} ms (last: ${last})`);
    }
    await sleep(options.everyMs);
  }
}
