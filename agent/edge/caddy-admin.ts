/**
 * A small client of Caddy's admin API for the edge: read the whole config with its hash, and swap it with a
 * compare-and-swap so a concurrent writer (the traffic switch, a person with curl) is never overwritten.
 */

/** Why Caddy could not be programmed: not answering at all, or answering with an error. */
export type CaddyAdminErrorCode = 'proxy_unavailable' | 'proxy_rejected';

/** A failed admin call; `proxy_rejected` carries Caddy's own error text in the message, `status` its HTTP status. */
export class CaddyAdminError extends Error {
  override readonly name = 'CaddyAdminError';
  constructor(
    readonly code: CaddyAdminErrorCode,
    message: string,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Caddy's whole config as `GET /config/` answered it. */
export interface CaddySnapshot {
  /** Parsed; `null` for a Caddy that runs no config yet. */
  config: Record<string, unknown> | null;
  /** The exact body, so a caller can tell whether anything changed byte for byte. */
  text: string;
  /** The `If-Match` value that makes a write fail (HTTP 412) if the config changed since this read. */
  ifMatch: string;
}

/** Options of {@link createCaddyAdmin}. */
export interface CaddyAdminOptions {
  /** Caddy's admin API on loopback, e.g. `http://127.0.0.1:2019`. */
  adminUrl: string;
  fetch?: typeof fetch;
  /** Bound on each request (10 s): a config change makes Caddy restart every server it runs. */
  timeoutMs?: number;
}

/** See {@link createCaddyAdmin}. */
export interface CaddyAdmin {
  readonly adminUrl: string;
  read(): Promise<CaddySnapshot>;
  /**
   * Replaces the whole config in one step, only if it is still the one `snapshot` read: Caddy answers 412 otherwise
   * (a `proxy_rejected` error with status 412, which the caller retries on a fresh read). A config Caddy cannot load
   * is refused as a whole and Caddy keeps running, and reporting, exactly the config it had.
   */
  replace(snapshot: CaddySnapshot, config: Record<string, unknown>): Promise<void>;
  /** A GET of another admin path (e.g. `/debug/vars`), parsed as JSON. */
  get(path: string): Promise<unknown>;
}

/**
 * FNV-1a 32-bit, the hash Caddy 2.6 computes over a config path's JSON for its ETag (`admin.go` `etagHasher`). Caddy
 * sends the ETag of `GET /config/` as an HTTP trailer, which `fetch` does not expose, so the agent hashes the body
 * itself: it is the very byte stream Caddy hashed.
 */
export function fnv1a32(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** A {@link CaddyAdmin} over `fetch`. */
export function createCaddyAdmin(options: CaddyAdminOptions): CaddyAdmin {
  const base = options.adminUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call(method: string, path: string, init: { body?: string; ifMatch?: string } = {}) {
    let response: Response;
    let bytes: Uint8Array;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        // Caddy 2.6 restarts its admin endpoint on config changes, closing idle connections: a pooled connection
        // reused at that moment fails with ECONNRESET, so each call gets its own.
        headers: {
          connection: 'close',
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(init.ifMatch === undefined ? {} : { 'if-match': init.ifMatch }),
        },
        body: init.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw new CaddyAdminError(
        'proxy_unavailable',
        `no Caddy admin API answers at ${base} (${reasonOf(error)})`,
        null,
        {
          cause: error,
        },
      );
    }
    const text = new TextDecoder().decode(bytes);
    if (response.status >= 400) {
      let detail: unknown = text.trim();
      try {
        detail = (JSON.parse(text) as { error?: unknown }).error ?? detail;
      } catch {
        // Not JSON: Caddy's text is the detail.
      }
      const shown = typeof detail === 'string' ? detail : JSON.stringify(detail);
      throw new CaddyAdminError(
        'proxy_rejected',
        `Caddy refused ${method} ${path} (HTTP ${response.status}): ${shown}`,
        response.status,
      );
    }
    return { bytes, text };
  }

  return {
    adminUrl: base,

    async read() {
      const { bytes, text } = await call('GET', '/config/');
      const parsed = text.trim() === '' ? null : (JSON.parse(text) as unknown);
      const config = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
      return { config, text, ifMatch: `"/config/ ${fnv1a32(bytes)}"` };
    },

    async replace(snapshot, config) {
      // POST on the root sets the whole config (admin.go unsyncedConfigAccess); unlike POST /load it honours
      // If-Match, and like it, a config that fails to load is rolled back before Caddy answers.
      await call('POST', '/config/', { body: JSON.stringify(config), ifMatch: snapshot.ifMatch });
    },

    async get(path) {
      const { text } = await call('GET', path);
      return text.trim() === '' ? null : (JSON.parse(text) as unknown);
    },
  };
}
