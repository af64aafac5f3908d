import { isIP } from 'node:net';
import { AppError, type DomainErrorCode } from '../../../shared/errors.js';
import { hostnameProblem } from '../../../shared/hostnames.js';

/** A `VALIDATION_ERROR` about `field` whose finer reason is a {@link DomainErrorCode}. */
export const invalid = (field: string, reason: DomainErrorCode, message: string, hint: string) =>
  new AppError('validation_failed', message, { field, hint, details: { reason } });

/** A `CONFLICT` about `field` whose finer reason is a {@link DomainErrorCode}. */
export const conflict = (field: string, reason: DomainErrorCode, message: string, hint: string) =>
  new AppError('conflict', message, { field, hint, details: { reason } });

/**
 * The domain as Berth stores and compares it: DNS names are case-insensitive, so lower case, and the trailing dot
 * of a fully qualified name (`app.example.com.`) is dropped. Throws `VALIDATION_ERROR` on `field` with the reason
 * (`domain_name_ip_literal`, `domain_name_wildcard`, `domain_name_invalid`) when it is not one host name.
 */
export function normalizeDomain(raw: string, field: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (isIP(name.replace(/^\[|\]$/g, '')) !== 0) {
    throw invalid(
      field,
      'domain_name_ip_literal',
      `"${raw}" is an IP address, not a domain name.`,
      'Bind a DNS name whose A/AAAA record points at the server (app.example.com).',
    );
  }
  if (name.includes('*')) {
    throw invalid(
      field,
      'domain_name_wildcard',
      `"${raw}" is a wildcard; Berth binds host names one at a time.`,
      'Bind each host name on its own (app.example.com, www.example.com).',
    );
  }
  const problem = hostnameProblem(name);
  if (problem !== null) {
    throw invalid(
      field,
      'domain_name_invalid',
      `The domain name ${problem}.`,
      'Send a host name of RFC 1123 labels (letters, digits, inner hyphens; 63 characters each, 253 in all).',
    );
  }
  return name;
}

/** Refuses a proxy kind Berth does not route: only `caddy` (routed) and `none` (recorded, not routed). */
export function requireSupportedProxy(proxyKind: string): void {
  if (proxyKind !== 'traefik') return;
  throw invalid(
    'proxyKind',
    'proxy_kind_unsupported',
    'Berth routes domain bindings through Caddy only.',
    'Send "proxyKind": "caddy" (or "none" to record the binding without routing it).',
  );
}

/** Refuses a `redirectStatus` sent without a `redirectTo`. */
export function requireRedirectTarget(redirectTo: string | null | undefined, redirectStatus: number | undefined): void {
  if (redirectStatus === undefined || redirectTo) return;
  throw new AppError('validation_failed', 'A redirectStatus needs a redirectTo.', {
    field: 'redirectStatus',
    hint: 'Send the canonical domain in redirectTo, or leave redirectStatus out.',
  });
}
