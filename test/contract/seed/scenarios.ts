import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { rig } from './fixtures.js';
import { envelopeExample, seedByKey, shapeMismatches } from './shape.js';

/**
 * A valid request for one seed endpoint; arrays the seed shows with items come back non-empty.
 *
 * Each scenario file passes its scenarios, keyed `METHOD /seed/path`, as an object literal to `describeSeedScenarios`
 * or `describeSeedStreams`: coverage.test.ts reads those keys from the files to check that every seed endpoint
 * Berth documents has exactly one scenario.
 */
export type Scenario = () => Promise<LightMyRequestResponse>;

/** The parsed `data:` of every frame of a Server-Sent Events body. */
function sseData(body: string): Array<Record<string, unknown>> {
  return body
    .split('\n\n')
    .map((frame) => /^data: (.*)$/m.exec(frame)?.[1])
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line));
}

/** One scenario per key: a valid request whose answer must have the seed's response shape. */
export function describeSeedScenarios(module: string, scenarios: Record<string, Scenario>): void {
  describe(`seed 001 contract: ${module}`, () => {
    it.each(Object.keys(scenarios))("%s answers the seed's shape", async (key) => {
      const endpoint = seedByKey.get(key);
      expect(endpoint, `${key} is not in seed 001`).toBeDefined();
      expect(rig.documented.has(key), `${key} is not in /openapi.json`).toBe(true);
      const res = await scenarios[key]!();
      expect(res.statusCode, res.body).toBeGreaterThanOrEqual(200);
      expect(res.statusCode, res.body).toBeLessThan(300);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const mismatches = shapeMismatches(endpoint!.response_example, res.json());
      expect(mismatches, `${key} differs from the seed:\n${mismatches.join('\n')}\nbody: ${res.body}`).toEqual([]);
    });
  });
}

/**
 * The seed's stream endpoints (documented as a JSON stream answering `null`) are Server-Sent Events in Berth: each
 * frame's data must have the shape of the seed's event envelope.
 */
export function describeSeedStreams(module: string, scenarios: Record<string, Scenario>): void {
  describe(`seed 001 contract: ${module} streams`, () => {
    it.each(Object.keys(scenarios))("%s streams events in the seed's envelope shape", async (key) => {
      expect(rig.documented.has(key), `${key} is not in /openapi.json`).toBe(true);
      const res = await scenarios[key]!();
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      const data = sseData(res.body);
      const events = data.filter((d) => d.kind === 'event');
      expect(events.length).toBeGreaterThan(0);
      for (const event of events) expect(shapeMismatches(envelopeExample, event)).toEqual([]);
      expect(data.at(-1)).toMatchObject({ kind: 'terminal' });
    });
  });
}

/**
 * The runtime log stream (documented as answering `null`) is Server-Sent Events in Berth: every `line` frame's line
 * must have the shape of the seed's runtime log line, and a stream that does not follow ends with `closed`.
 */
export function describeSeedLogStreams(module: string, scenarios: Record<string, Scenario>): void {
  const lineExample = (
    seedByKey.get('GET /resources/{resourceId}/runtime-logs')!.response_example as { logs: unknown[] }
  ).logs[0];
  describe(`seed 001 contract: ${module} streams`, () => {
    it.each(Object.keys(scenarios))("%s streams lines in the seed's line shape", async (key) => {
      expect(rig.documented.has(key), `${key} is not in /openapi.json`).toBe(true);
      const res = await scenarios[key]!();
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      const data = sseData(res.body);
      const lines = data.filter((d) => d.kind === 'line');
      expect(lines.length).toBeGreaterThan(0);
      for (const frame of lines) expect(shapeMismatches(lineExample, frame.line)).toEqual([]);
      expect(data.at(-1)).toMatchObject({ kind: 'closed', reason: 'completed' });
    });
  });
}
