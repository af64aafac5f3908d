import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerQuery, buildQuery, type DnsLookupResult, parseResponse } from '../../shared/dns-wire.js';
import type { Logger } from '../../shared/logger.js';
import { readJsonFile } from '../json-file.js';
import type { UpstreamResolver } from './resolver.js';
import { upstreamName, upstreamZone } from './upstream.js';

/**
 * The upstream resolver as its own process, so that it outlives the agent as Caddy does. Caddy asks it for
 * `<resourceId>.berth.internal` on every refresh; if it died with the agent, every app behind Caddy would stop
 * answering until the agent is back, and a static fallback upstream is no answer either: Docker hands a freed
 * container address to the next container, so a stale fallback can send a domain's traffic to another app, or to a
 * version that never passed its health check.
 *
 * The agent owns the records: it writes them to the state file (atomically, with a generation number) and the daemon
 * loads every new version it sees. The agent knows a change is live when the daemon answers the TXT query
 * `_generation.berth.internal` with that generation. The daemon exits when the file is removed (the agent
 * uninstalled, a test's state folder cleaned up).
 */

/** The state file: the daemon's port, the records and their generation. Written by the agent only. */
interface DaemonState {
  port: number;
  generation: number;
  records: Record<string, string>;
}

const generationName = `_generation.${upstreamZone}`;
/** Caddy asks again after its refresh anyway; a TTL of 1 s keeps any other client from caching longer. */
const recordTtl = 1;

function readState(raw: unknown): DaemonState {
  const saved = (raw ?? {}) as Partial<DaemonState>;
  const records: Record<string, string> = {};
  for (const [resourceId, ip] of Object.entries(saved.records ?? {})) if (isIPv4(ip)) records[resourceId] = ip;
  const port = Number.isInteger(saved.port) && saved.port! > 0 && saved.port! < 65536 ? saved.port! : 0;
  const generation = Number.isInteger(saved.generation) && saved.generation! >= 0 ? saved.generation! : 0;
  return { port, generation, records };
}

/** The answers for the zone: A for a known resource, the generation as TXT, NXDOMAIN or REFUSED otherwise. */
export function lookupIn(state: DaemonState, name: string, type: string): DnsLookupResult {
  const suffix = `.${upstreamZone}`;
  if (name !== upstreamZone && !name.endsWith(suffix)) return { rcode: 'REFUSED', answers: [] };
  if (name === generationName) {
    return {
      rcode: 'NOERROR',
      answers: type === 'TXT' ? [{ type: 'TXT', value: String(state.generation), ttl: 0 }] : [],
    };
  }
  if (name === upstreamZone) return { rcode: 'NOERROR', answers: [] };
  const ip = state.records[name.slice(0, -suffix.length)];
  if (ip === undefined) return { rcode: 'NXDOMAIN', answers: [] };
  return { rcode: 'NOERROR', answers: type === 'A' ? [{ type: 'A', value: ip, ttl: recordTtl }] : [] };
}

/** Options of {@link runResolverDaemon}. */
export interface ResolverDaemonOptions {
  file: string;
  port: number;
  log: Logger;
  /** How often the file is looked at (200 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * `berth agent edge-resolver`: answers on 127.0.0.1:port (UDP) from `file` until the file is gone or `signal`
 * aborts. Rejects when the port cannot be bound (another daemon has it).
 */
export async function runResolverDaemon(options: ResolverDaemonOptions): Promise<void> {
  const { file, port, log } = options;
  const pollMs = options.pollMs ?? 200;
  let state = readState(await readJsonFile(file));
  let seen = '';
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('message', (message, peer) => {
    const reply = answerQuery(message, (name, type) => lookupIn(state, name, type));
    if (reply !== null) socket.send(reply, peer.port, peer.address);
  });
  socket.on('error', (error) => log.warn({ err: error }, 'resolver socket error'));
  log.info({ port, records: Object.keys(state.records).length, pid: process.pid }, 'edge resolver listening');

  let missing = 0;
  try {
    while (!options.signal?.aborted) {
      await sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined);
      const info = await stat(file).catch(() => null);
      if (info === null) {
        // Twice in a row: a rename in progress shows the file as briefly absent on some file systems.
        if (++missing >= 2) {
          log.info({ file }, 'the resolver state file is gone; stopping');
          return;
        }
        continue;
      }
      missing = 0;
      const version = `${info.mtimeMs}:${info.size}:${info.ino}`;
      if (version === seen) continue;
      const raw = await readJsonFile(file).catch(() => undefined);
      if (raw === undefined) continue;
      seen = version;
      state = readState(raw);
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** The generation the daemon at `port` answers, or null when nothing answers within `timeoutMs`. */
export async function daemonGeneration(port: number, timeoutMs = 300): Promise<number | null> {
  const socket = dgram.createSocket('udp4');
  try {
    const answer = await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(null);
      });
      socket.send(buildQuery(generationName, 'TXT', Math.floor(Math.random() * 65535)), port, '127.0.0.1');
    });
    if (answer === null) return null;
    const value = parseResponse(answer).answers.find((a) => a.type === 16)?.value;
    return value === undefined || !/^\d+$/.test(value) ? null : Number(value);
  } catch {
    return null;
  } finally {
    socket.close();
  }
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Options of {@link connectResolverDaemon}. */
export interface ResolverClientOptions {
  file: string;
  /** 0: the port saved in the file, else a free one. */
  port: number;
  /** The command that runs this agent's CLI (node, its flags, the entry and the words before the subcommand). */
  command: readonly string[];
  log: Logger;
  /** How long a change may take to be answered (3 s). */
  settleTimeoutMs?: number;
}

/** Starts the daemon detached (its own process group, its log next to the file), so it outlives the agent. */
function spawnDaemon(command: readonly string[], file: string, port: number): void {
  const [executable, ...args] = command;
  const logFd = openSync(file.replace(/\.json$/, '') + '.log', 'a', 0o600);
  try {
    const child = spawn(executable!, [...args, 'edge-resolver', '--file', file, '--port', String(port)], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    child.on('error', () => undefined);
    child.unref();
  } finally {
    closeSync(logFd);
  }
}

/**
 * The agent's side of the daemon, with the in-process resolver's interface: adopts the daemon answering on the saved
 * port, or starts one. `flush` resolves once the daemon answers every change made so far; a daemon that died is
 * started again then.
 */
export async function connectResolverDaemon(options: ResolverClientOptions): Promise<UpstreamResolver> {
  const { file, log, command } = options;
  const settleTimeoutMs = options.settleTimeoutMs ?? 3000;
  const saved = readState(await readJsonFile(file));
  const records = new Map(Object.entries(saved.records));
  let generation = saved.generation;
  let port = options.port !== 0 ? options.port : saved.port;
  let written = Promise.resolve();

  async function write(): Promise<number> {
    const state: DaemonState = { port, generation: ++generation, records: Object.fromEntries(records) };
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, file);
    return state.generation;
  }

  async function answered(wanted: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await daemonGeneration(port);
      if (answer !== null && answer >= wanted) return true;
      if (Date.now() >= deadline) return false;
      await sleep(20);
    }
  }

  async function ensureDaemon(wanted: number): Promise<void> {
    if (await answered(wanted, 300)) return;
    if ((await daemonGeneration(port)) === null) {
      log.info({ port }, 'starting the edge resolver');
      spawnDaemon(command, file, port);
    }
    if (!(await answered(wanted, settleTimeoutMs))) {
      throw new Error(`the edge resolver on 127.0.0.1:${port} does not answer generation ${wanted}`);
    }
  }

  if (port === 0 || (await daemonGeneration(port)) === null) {
    // Nothing answers on the saved port: take it again if it is free, else another (routes then get rewritten).
    if (port === 0) port = await freeUdpPort();
  } else {
    log.info({ port }, 'adopting the running edge resolver');
  }
  await ensureDaemon(await write());

  let dirty = false;
  return {
    get address() {
      return `127.0.0.1:${port}`;
    },
    set(resourceId, ip) {
      upstreamName(resourceId);
      if (ip !== null && !isIPv4(ip)) throw new RangeError(`not an IPv4 address: "${ip}"`);
      if ((records.get(resourceId) ?? null) === ip) return;
      if (ip === null) records.delete(resourceId);
      else records.set(resourceId, ip);
      dirty = true;
    },
    get: (resourceId) => records.get(resourceId) ?? null,
    all: () => Object.fromEntries(records),
    flush() {
      written = written
        .catch(() => undefined)
        .then(async () => {
          if (!dirty) return;
          dirty = false;
          await ensureDaemon(await write());
        });
      return written;
    },
    close: () => written.catch(() => undefined),
  };
}
