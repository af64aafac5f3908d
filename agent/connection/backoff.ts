/** The shape of the reconnect backoff. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay, in ms. */
  baseMs: number;
  /** No delay is ever longer than this, in ms. */
  capMs: number;
}

/** The agent link's backoff: 1 s growing to 60 s (ARCHITECTURE.md §3, liveness). */
export const defaultBackoff: BackoffOptions = { baseMs: 1_000, capMs: 60_000 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry): capped exponential backoff with FULL
 * jitter, `random(0, min(cap, base * 2^attempt))`. Full jitter (rather than a fixed delay plus a little noise)
 * spreads a fleet of agents that lost the control plane at the same instant evenly over the whole window, so
 * they do not come back as a thundering herd.
 *
 * `random` returns a number in [0, 1) like `Math.random`; a negative or non-integer `attempt` counts as 0 or is
 * rounded down. Very large attempts are safe: `2 ** attempt` becomes Infinity and the cap applies.
 */
export function backoffDelay(attempt: number, random: () => number, options: BackoffOptions = defaultBackoff): number {
  const step = Math.max(0, Math.floor(attempt));
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** step);
  return Math.floor(random() * ceiling);
}
