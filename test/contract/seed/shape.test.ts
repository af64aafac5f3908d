import { describe, expect, it } from 'vitest';
import { shapeMismatches } from './shape.js';

describe('seed 001 contract: shape checker', () => {
  it('compares shapes by key, type, nullability, first array item and schemaVersion', () => {
    const example = { id: 's', n: 0, ok: true, items: [{ v: 's' }], schemaVersion: 'x/v1', note: 's' };
    expect(shapeMismatches(example, { ...example, note: null, extra: 1 })).toEqual([]);
    expect(shapeMismatches(example, { n: '0', ok: true, items: [{ v: 1 }], schemaVersion: 'x/v2', note: 's' })).toEqual(
      [
        '$.id: missing',
        '$.n: expected number, got string',
        '$.items[0].v: expected string, got number',
        '$.schemaVersion: expected "x/v1", got "x/v2"',
      ],
    );
    expect(shapeMismatches(example, { ...example, ok: null, items: [] })).toEqual([
      '$.ok: expected boolean, got null',
      "$.items: empty, so its items cannot be compared with the seed's",
    ]);
  });
});
