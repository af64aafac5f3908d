import { Resolver } from 'node:dns/promises';
import http from 'node:http';
import { isIP } from 'node:net';
import type { DnsObservation, OwnershipMethod, VerificationAttempt } from './entity.js';

/** Options of {@link createOwnershipChecks}. */
export interface OwnershipCheckOptions {
  /** `BERTH_DNS_RESOLVER`: `host:port` of the DNS server to ask; unset: the system's resolvers. */
  resolverAddress?: string | undefined;
  /** `BERTH_HTTP_CHALLENGE_PORT`: the port the HTTP token is fetched from on the domain's address (80). */
  httpPort?: number;
  /** How long one lookup or fetch may take. */
  timeoutMs?: number;
}

/** The TXT record name of a domain's ownership challenge. */
export const challengeRecordName = (domain: string) => `_berth-challenge.${domain}`;
/** The HTTP path of a domain's ownership challenge. */
export const challengePath = (token: string) => `/.well-known/berth-challenge/${token}`;

type Outcome = Omit<VerificationAttempt, 'id' | 'checkedAt' | 'method'>;

const dnsCodeOf = (error: unknown) => (error as { code?: string }).code ?? 'EUNKNOWN';
const absent = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * The ownership checks and the DNS observation of a domain binding, against one resolver. Nothing here throws:
 * every outcome, a failed lookup included, is reported as what was seen.
 */
export function createOwnershipChecks(options: OwnershipCheckOptions = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const httpPort = options.httpPort ?? 80;

  function resolver(): Resolver {
    const r = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (options.resolverAddress) r.setServers([options.resolverAddress]);
    return r;
  }

  /** The A and AAAA addresses of `domain` (and its CNAME), or the DNS error code. */
  async function addressesOf(domain: string): Promise<{ addresses: string[]; error: string | null }> {
    const r = resolver();
    const results = await Promise.allSettled([r.resolve4(domain), r.resolve6(domain), r.resolveCname(domain)]);
    const addresses = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
    const errors = results.flatMap((result) => (result.status === 'rejected' ? [dnsCodeOf(result.reason)] : []));
    const hard = errors.find((code) => !absent.has(code));
    return { addresses: [...new Set(addresses.map((a) => a.toLowerCase()))], error: hard ?? null };
  }

  async function checkTxt(domain: string, token: string): Promise<Outcome> {
    const target = `TXT ${challengeRecordName(domain)}`;
    try {
      const records = (await resolver().resolveTxt(challengeRecordName(domain))).map((chunks) => chunks.join(''));
      if (records.includes(token)) {
        return { outcome: 'verified', target, evidence: token, message: 'The TXT record carries the challenge token.' };
      }
      return {
        outcome: 'mismatch',
        target,
        evidence: records.join(' | ').slice(0, 500),
        message: `The TXT record exists but none of its ${records.length} value(s) is the challenge token.`,
      };
    } catch (error) {
      const code = dnsCodeOf(error);
      if (absent.has(code)) {
        return {
          outcome: 'not_found',
          target,
          evidence: code,
          message: `No TXT record at ${challengeRecordName(domain)}.`,
        };
      }
      return { outcome: 'lookup_failed', target, evidence: code, message: `The DNS lookup failed (${code}).` };
    }
  }

  function fetchToken(address: string, domain: string, token: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.get(
        { host: address, port: httpPort, path: challengePath(token), headers: { host: domain }, timeout: timeoutMs },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
            // The token is short: anything much longer is not the answer, and is not read to its end.
            if (body.length > 4096) response.destroy();
          });
          response.on('close', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', reject);
    });
  }

  async function checkHttp(domain: string, token: string): Promise<Outcome> {
    const target = `GET http://${domain}${challengePath(token)}`;
    const { addresses, error } = await addressesOf(domain);
    const ips = addresses.filter((a) => isIP(a) !== 0);
    if (ips.length === 0) {
      return {
        outcome: error ? 'lookup_failed' : 'not_found',
        target,
        evidence: error ?? 'no address',
        message: error ? `The DNS lookup failed (${error}).` : `${domain} has no A or AAAA record.`,
      };
    }
    try {
      const answer = await fetchToken(ips[0]!, domain, token);
      if (answer.status === 200 && answer.body.trim() === token) {
        return { outcome: 'verified', target, evidence: token, message: 'The HTTP answer is the challenge token.' };
      }
      return {
        outcome: answer.status === 404 ? 'not_found' : 'mismatch',
        target,
        evidence: `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`,
        message: `${ips[0]} answered HTTP ${answer.status} without the challenge token.`,
      };
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      return { outcome: 'lookup_failed', target, evidence: message, message: `The HTTP fetch failed: ${message}.` };
    }
  }

  return {
    /** Runs one ownership check by `method`. */
    check(method: OwnershipMethod, domain: string, token: string): Promise<Outcome> {
      return method === 'dns-txt' ? checkTxt(domain, token) : checkHttp(domain, token);
    },

    /** What `domain` resolves to, compared with `expected` (the server's host: an address or a name). */
    async observe(domain: string, expected: string[], now: Date): Promise<DnsObservation> {
      const { addresses, error } = await addressesOf(domain);
      const base = { expectedTargets: expected, observedTargets: addresses, checkedAt: now.toISOString() };
      if (addresses.length === 0) {
        return error
          ? { ...base, status: 'lookup_failed', message: `The DNS lookup failed (${error}).` }
          : { ...base, status: 'unresolved', message: `${domain} has no A, AAAA or CNAME record.` };
      }
      if (expected.length === 0) {
        return { ...base, status: 'skipped', message: 'The binding names no server to compare with.' };
      }
      const matched = addresses.some((a) => expected.includes(a));
      return {
        ...base,
        status: matched ? 'matched' : 'mismatch',
        message: matched
          ? `${domain} points at the server.`
          : `${domain} points at ${addresses.join(', ')}, not at ${expected.join(', ')}.`,
      };
    },
  };
}

/** The ownership checks' type. */
export type OwnershipChecks = ReturnType<typeof createOwnershipChecks>;
