import { describe, expect, it } from 'vitest';
import { type IdKind, idPrefixes, isIdOf, newId } from './ids.js';

const kinds = Object.keys(idPrefixes) as IdKind[];
const idPattern = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

describe('newId', () => {
  it('starts every id with its kind prefix and a hyphen', () => {
    for (const kind of kinds) {
      expect(newId(kind).startsWith(`${idPrefixes[kind]}-`)).toBe(true);
    }
  });

  it('makes ids of 30 characters that match the service-catalog id pattern', () => {
    for (const kind of kinds) {
      for (const now of [0, 1, Date.now(), Date.parse('2100-01-01T00:00:00Z')]) {
        const id = newId(kind, now);
        expect(id).toHaveLength(30);
        expect(id).toMatch(idPattern);
        expect(isIdOf(kind, id)).toBe(true);
      }
    }
  });

  it('sorts ids by creation time when made at increasing times', () => {
    const times = [0, 1, 31, 32, 1023, 1024, 32 ** 3, Date.parse('2020-01-01T00:00:00Z'), Date.now(), Date.now() + 1];
    const ids = times.map((now) => newId('project', now));
    expect([...ids].sort()).toEqual(ids);
    // Repeated a few times so the random part never decides the order.
    for (let round = 0; round < 20; round++) {
      const later = times.map((now) => newId('project', now));
      expect([...later].sort()).toEqual(later);
    }
  });

  it('makes 10,000 unique ids even within the same millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('session', now)));
    expect(ids.size).toBe(10_000);
  });
});

describe('isIdOf', () => {
  it('accepts only ids of the given kind in the exact shape', () => {
    const id = newId('project');
    expect(isIdOf('project', id)).toBe(true);
    expect(isIdOf('user', id)).toBe(false);
    expect(isIdOf('project', id.toUpperCase())).toBe(false);
    expect(isIdOf('project', `${id}0`)).toBe(false);
    expect(isIdOf('project', id.slice(0, -1))).toBe(false);
    expect(isIdOf('project', `prj-${'i'.repeat(26)}`)).toBe(false);
  });
});
