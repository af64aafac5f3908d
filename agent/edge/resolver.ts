import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import { answerQuery, type DnsLookupResult } from '../../shared/dns-wire.js';
import type { Logger } from '../../shared/logger.js';
import { createJsonPersister, readJsonFile } from '../json-file.js';
import { upstreamName, upstreamZone } from './upstream.js';

/** Options of {@link startUpstreamResolver}. */
export interface UpstreamResolverOptions {
  /** Loopback only: Caddy is the one client, and nothing else should learn the containers' addresses. */
  host: '127.0.0.1';
  /** UDP port; 0 takes the port saved in `file` when there is one, else a free port, which is then saved. */
  port: number;
  /** JSON file for the records and the port, so an agent restart answers the same and at the same address. */
  file: string;
  log: Logger;
}

/** The agent's DNS server for `<resourceId>.berth.internal`; see {@link startUpstreamResolver}. */
export interface UpstreamResolver {
  /** Where it listens, `127.0.0.1:NNNN` (UDP), as Caddy's `resolver.addresses` wants it after `udp/`. */
  readonly address: string;
  /** Points the resource's name at `ip` (IPv4), or removes it (null). Answers change at once; the file follows. */
  set(resourceId: string, ip: string | null): void;
  get(resourceId: string): string | null;
  /** Every record, resource id → IPv4 address. */
  all(): Record<string, string>;
  /** Resolves once every change so far is on disk; rejects with the last write error. */
  flush(): Promise<void>;
  /** Stops answering and writes what is pending. */
  close(): Promise<void>;
}

/** The file's content. */
interface SavedState {
  port: number;
  records: Record<string, string>;
}

/** Caddy asks again after `upstreamRefreshMs` anyway; a TTL of 1 s keeps any other client from caching longer. */
const recordTtl = 1;

function readSaved(raw: unknown): SavedState {
  const saved = (raw ?? {}) as Partial<SavedState>;
  const records: Record<string, string> = {};
  for (const [resourceId, ip] of Object.entries(saved.records ?? {})) if (isIPv4(ip)) records[resourceId] = ip;
  const port = Number.isInteger(saved.port) && saved.port! > 0 && saved.port! < 65536 ? saved.port! : 0;
  return { port, records };
}

/** A UDP socket bound to `host:port`; a failed bind closes it (a socket is not bound twice). */
function bind(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      socket.close();
      reject(error);
    };
    socket.once('error', fail);
    socket.bind(port, host, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/**
 * Starts the loopback DNS server Caddy's dynamic upstreams ask (see upstream.ts). It answers for the zone
 * `berth.internal` only: A for a known `<resourceId>.berth.internal` (TTL 1), an empty NOERROR for AAAA and other
 * types of a known name, NXDOMAIN for other names in the zone, REFUSED outside it. Records are kept in memory and
 * saved to `file` (atomic writes, bursts coalesced) with the port, both loaded again at start. A saved port that is
 * taken meanwhile is replaced by a free one, with a warning: configs that embed the old address must be rewritten.
 */
export async function startUpstreamResolver(options: UpstreamResolverOptions): Promise<UpstreamResolver> {
  const { host, file, log } = options;
  const saved = readSaved(await readJsonFile(file));
  const records = new Map(Object.entries(saved.records));
  const wanted = options.port !== 0 ? options.port : saved.port;
  let socket: dgram.Socket;
  try {
    socket = await bind(host, wanted);
  } catch (error) {
    if (options.port !== 0 || wanted === 0) throw error;
    log.warn({ err: error, port: wanted }, 'the saved resolver port is taken; using another (routes get rewritten)');
    socket = await bind(host, 0);
  }
  const port = socket.address().port;
  const persister = createJsonPersister(
    file,
    (): SavedState => ({ port, records: Object.fromEntries(records) }),
    (error) => log.error({ err: error, file }, 'could not save the resolver records'),
  );
  if (port !== saved.port) persister.schedule();

  const suffix = `.${upstreamZone}`;
  function lookup(name: string, type: string): DnsLookupResult {
    if (name !== upstreamZone && !name.endsWith(suffix)) return { rcode: 'REFUSED', answers: [] };
    if (name === upstreamZone) return { rcode: 'NOERROR', answers: [] };
    const ip = records.get(name.slice(0, -suffix.length));
    if (ip === undefined) return { rcode: 'NXDOMAIN', answers: [] };
    return { rcode: 'NOERROR', answers: type === 'A' ? [{ type: 'A', value: ip, ttl: recordTtl }] : [] };
  }

  socket.on('message', (message, peer) => {
    const reply = answerQuery(message, lookup);
    if (reply !== null) socket.send(reply, peer.port, peer.address);
  });
  // A UDP socket only errors on send; a lost answer is retried by the client, so log and carry on.
  socket.on('error', (error) => log.warn({ err: error }, 'resolver socket error'));
  log.info({ address: `${host}:${port}`, records: records.size }, 'upstream resolver listening');

  let closed: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    set(resourceId, ip) {
      upstreamName(resourceId);
      if (ip !== null && !isIPv4(ip)) throw new RangeError(`not an IPv4 address: "${ip}"`);
      if ((records.get(resourceId) ?? null) === ip) return;
      if (ip === null) records.delete(resourceId);
      else records.set(resourceId, ip);
      persister.schedule();
    },
    get: (resourceId) => records.get(resourceId) ?? null,
    all: () => Object.fromEntries(records),
    flush: () => persister.flush(),
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => socket.close(() => resolve()));
        await persister.flush();
      })();
      return closed;
    },
  };
}
