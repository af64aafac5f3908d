import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import nodePath from 'node:path';
import { readJsonFile, writeFileAtomic } from '../json-file.js';

/** The loopback port each resource is reachable on, stable across deployments and agent restarts. */
export interface ListenPortStore {
  /**
   * The resource's port: `preferred` (its configured host port) when given, which is returned as is and not
   * saved; otherwise the port saved for it, or a free one in 20000–29999 picked and saved the first time.
   */
  portFor(resourceId: string, preferred?: number | null): Promise<number>;
}

/** Options of {@link createListenPortStore}, for tests. */
export interface ListenPortStoreOptions {
  /** Inclusive range new ports are picked from (20000–29999). */
  range?: { min: number; max: number };
  /** Whether nothing listens on 127.0.0.1:`port` now; binding it briefly by default. */
  isFree?: (port: number) => Promise<boolean>;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/**
 * A {@link ListenPortStore} saved as `listen-ports.json` (`{ "<resourceId>": port }`) in the agent's state folder.
 * Calls are serialized, so two resources asking at once never get the same port. A damaged file throws rather
 * than being overwritten: the ports in it are what running routes use.
 */
export function createListenPortStore(stateDir: string, options: ListenPortStoreOptions = {}): ListenPortStore {
  const file = nodePath.join(stateDir, 'listen-ports.json');
  const { min, max } = options.range ?? { min: 20000, max: 29999 };
  const isFree = options.isFree ?? canBind;
  let queue: Promise<unknown> = Promise.resolve();

  async function load(): Promise<Record<string, number>> {
    const raw = await readJsonFile(file);
    if (raw === undefined) return {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every(isPort)) {
      throw new Error(`${file} is not a map of resource ids to ports`);
    }
    return raw as Record<string, number>;
  }

  async function pick(taken: Set<number>): Promise<number> {
    const size = max - min + 1;
    // A random start spreads resources over the range; scanning on from it still finds the last free port.
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = min + ((start + i) % size);
      if (!taken.has(port) && (await isFree(port))) return port;
    }
    throw new Error(`no free loopback port left in ${min}–${max}`);
  }

  async function assign(resourceId: string): Promise<number> {
    const ports = await load();
    const saved = ports[resourceId];
    if (saved !== undefined) return saved;
    // A port saved for another resource is skipped even when free now: its route may simply be down.
    const port = await pick(new Set(Object.values(ports)));
    await mkdir(stateDir, { recursive: true });
    await writeFileAtomic(file, `${JSON.stringify({ ...ports, [resourceId]: port }, null, 2)}\n`, 0o644);
    return port;
  }

  return {
    portFor(resourceId, preferred) {
      if (preferred !== undefined && preferred !== null) {
        if (!isPort(preferred)) return Promise.reject(new RangeError(`preferred is not a port: ${preferred}`));
        return Promise.resolve(preferred);
      }
      const run = queue.then(() => assign(resourceId));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
