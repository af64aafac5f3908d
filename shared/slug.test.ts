import { describe, expect, it } from 'vitest';
import { slugify, uniqueSlug } from './slug.js';

describe('slugify', () => {
  it('lower-cases and folds accents to ASCII', () => {
    expect(slugify('Café Crème', 'x')).toBe('cafe-creme');
    expect(slugify('Ångström Über Niño', 'x')).toBe('angstrom-uber-nino');
  });

  it('collapses runs of punctuation and spaces into one hyphen', () => {
    expect(slugify('Hello,   World!!', 'x')).toBe('hello-world');
    expect(slugify('a -- b__c...d', 'x')).toBe('a-b-c-d');
  });

  it('trims hyphens from both ends', () => {
    expect(slugify('--Web Shop--', 'x')).toBe('web-shop');
    expect(slugify('  !!Billing?? ', 'x')).toBe('billing');
  });

  it('caps the length and never ends with a hyphen after cutting', () => {
    expect(slugify('a'.repeat(100), 'x')).toBe('a'.repeat(60));
    expect(slugify('abcd efgh', 'x', 5)).toBe('abcd');
    expect(slugify('abc', 'x', 10)).toBe('abc');
  });

  it('falls back when nothing usable is left', () => {
    expect(slugify('', 'project')).toBe('project');
    expect(slugify('!!! ---', 'project')).toBe('project');
    expect(slugify('日本語', 'project')).toBe('project');
  });
});

describe('uniqueSlug', () => {
  it('returns the base when it is free', () => {
    expect(uniqueSlug('web', new Set())).toBe('web');
    expect(uniqueSlug('web', new Set(['web-2']))).toBe('web');
  });

  it('appends -2, then -3, to the first free candidate', () => {
    expect(uniqueSlug('web', new Set(['web']))).toBe('web-2');
    expect(uniqueSlug('web', new Set(['web', 'web-2']))).toBe('web-3');
    expect(uniqueSlug('web', new Set(['web', 'web-2', 'web-3']))).toBe('web-4');
  });

  it('shortens the base to keep the suffixed slug within the length cap', () => {
    const base = 'a'.repeat(60);
    const second = uniqueSlug(base, new Set([base]));
    expect(second).toBe(`${'a'.repeat(58)}-2`);
    expect(second).toHaveLength(60);
    // A cut that lands on a hyphen does not leave a double hyphen before the suffix.
    expect(uniqueSlug('abcd-efgh', new Set(['abcd-efgh']), 7)).toBe('abcd-2');
  });
});
