import { isIP } from 'node:net';

/** Options of {@link hostnameProblem}. */
export interface HostnameRules {
  /** Accept one leading `*.` label (a wildcard binding). */
  allowWildcard?: boolean;
}

/**
 * Why `name` is not a host name Berth can route and get a certificate for, or null when it is one: lower-case
 * RFC 1123 labels (letters, digits, inner hyphens, 1–63 characters), at least two of them, 253 characters at most,
 * not an IP literal and not an all-numeric top-level label (which would read as an address).
 */
export function hostnameProblem(name: string, rules: HostnameRules = {}): string | null {
  if (name.length === 0) return 'is empty';
  if (isIP(name.replace(/^\[|\]$/g, '')) !== 0) return 'is an IP address, not a domain name';
  if (name !== name.toLowerCase()) return 'must be lower case';
  if (name.length > 253) return 'is longer than 253 characters';
  if (name.endsWith('.')) return 'must not end with a dot';
  const labels = name.split('.');
  if (labels[0] === '*') {
    if (!rules.allowWildcard) return 'is a wildcard, which is not allowed here';
    labels.shift();
  }
  if (labels.length < 2) return 'needs at least two labels (e.g. app.example.com)';
  for (const label of labels) {
    if (label === '*') return 'may only have a wildcard as its first label';
    if (label.length === 0) return 'has an empty label';
    if (label.length > 63) return `has a label longer than 63 characters ("${label.slice(0, 20)}…")`;
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(label)) {
      return `has an invalid label "${label}" (letters, digits and inner hyphens only)`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return 'has an all-numeric top-level label';
  return null;
}
