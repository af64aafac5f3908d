import { describe, expect, it } from 'vitest';
import { hostnameProblem } from './hostnames.js';

describe('hostnameProblem', () => {
  it('accepts ordinary names, names with digits and hyphens, and sslip names', () => {
    for (const name of ['app.example.test', 'a-1.b2.example.com', 'web-abc123.127.0.0.1.sslip.io']) {
      expect(hostnameProblem(name), name).toBeNull();
    }
  });

  it('refuses IP literals, single labels, upper case, bad labels and over-long names', () => {
    expect(hostnameProblem('10.0.0.1')).toMatch(/IP address/);
    expect(hostnameProblem('::1')).toMatch(/IP address/);
    expect(hostnameProblem('localhost')).toMatch(/two labels/);
    expect(hostnameProblem('App.example.test')).toMatch(/lower case/);
    expect(hostnameProblem('-app.example.test')).toMatch(/invalid label/);
    expect(hostnameProblem('app_1.example.test')).toMatch(/invalid label/);
    expect(hostnameProblem('a..example.test')).toMatch(/empty label/);
    expect(hostnameProblem(`${'a'.repeat(64)}.example.test`)).toMatch(/63/);
    expect(hostnameProblem(`${'a.'.repeat(130)}test`)).toMatch(/253/);
    expect(hostnameProblem('app.example.123')).toMatch(/numeric/);
  });

  it('accepts a leading wildcard only when allowed, and nowhere else', () => {
    expect(hostnameProblem('*.example.test')).toMatch(/wildcard/);
    expect(hostnameProblem('*.example.test', { allowWildcard: true })).toBeNull();
    expect(hostnameProblem('a.*.example.test', { allowWildcard: true })).toMatch(/first label/);
  });
});
