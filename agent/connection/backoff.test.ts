import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultBackoff } from './backoff.js';

// A random source that returns the given values in turn, so each delay is exactly predictable.
const fixed = (value: number) => () => value;
const almostOne = 0.999_999_999;

describe('backoffDelay', () => {
  it('stays within [0, base) on the first retry', () => {
    expect(backoffDelay(0, fixed(0))).toBe(0);
    expect(backoffDelay(0, fixed(almostOne))).toBe(999);
  });

  it('doubles the ceiling with every attempt', () => {
    const ceilings = [0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, fixed(almostOne)) + 1);
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  it('never exceeds the 60 s cap, however many attempts (2^attempt overflowing included)', () => {
    for (const attempt of [6, 7, 10, 50, 1_100, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelay(attempt, fixed(almostOne));
      expect(delay).toBeLessThan(defaultBackoff.capMs);
      expect(delay).toBeGreaterThan(59_000);
    }
  });

  it('treats negative and fractional attempts as the step below', () => {
    expect(backoffDelay(-3, fixed(0.5))).toBe(500);
    expect(backoffDelay(1.9, fixed(0.5))).toBe(1_000);
  });

  it('applies full jitter: the random source spreads delays over the whole window', () => {
    const values = [0, 0.25, 0.5, 0.75];
    let i = 0;
    const delays = values.map(() => backoffDelay(3, () => values[i++]!));
    expect(delays).toEqual([0, 2_000, 4_000, 6_000]);
  });

  it('spreads a fleet evenly: with Math.random, delays cover the window with no clustering', () => {
    const delays = Array.from({ length: 4_000 }, () => backoffDelay(10, Math.random));
    const buckets = [0, 0, 0, 0];
    for (const delay of delays) buckets[Math.floor(delay / 15_000)]! += 1;
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(60_000);
    // Each quarter of the window gets about 1000; 800 leaves plenty of room for chance.
    for (const count of buckets) expect(count).toBeGreaterThan(800);
  });

  it('honours a custom base and cap (tests use milliseconds)', () => {
    const options = { baseMs: 10, capMs: 50 };
    expect(backoffDelay(0, fixed(almostOne), options)).toBe(9);
    expect(backoffDelay(2, fixed(almostOne), options)).toBe(39);
    expect(backoffDelay(9, fixed(almostOne), options)).toBe(49);
  });
});
