import { ContainerError, type ContainerInfo, type Containers } from '../../agent/workloads/containers.js';
import { containerCreateOptions, publishedPorts } from '../../agent/workloads/create-options.js';
import type { CheckResult, HealthProbe } from '../../agent/workloads/health-checks.js';
import type { LogLine } from '../../agent/workloads/log-lines.js';
import { berthLabels, type ContainerSpec } from '../../agent/workloads/spec.js';

/** How the process of an image's containers behaves once started; see {@link FakeContainers.script}. */
export interface FakeBehaviour {
  /** Exit code the process ends with on its own; it keeps running when undefined. */
  exitCode?: number;
  /** How long after a start the process ends: 0 (the default) is before `createAndStart` reads it back. */
  exitAfterMs?: number;
  /** Whether its health check ever passes (true by default). */
  healthy?: boolean;
  /** Failing checks before the first passing one. */
  failingChecks?: number;
  /** Lines it writes at every start; `!` in front makes a stderr line. */
  output?: string[];
  /** Makes `start` fail with `container_start_failed`, leaving the container `created`. */
  startFails?: string;
}

/** One container of the fake engine, Berth's or not. */
interface Entry {
  info: ContainerInfo;
  labels: Record<string, string>;
  image: string;
  ports: number[];
  logs: LogLine[];
  checks: number;
  followers: Set<() => void>;
  exitTimer?: NodeJS.Timeout;
}

/** Options of {@link createFakeContainers}. */
export interface FakeContainersOptions {
  /** Images the engine already has. */
  localImages?: string[];
  /** Images a registry serves: pulled (with progress lines) on first use. Any other is `image_not_found`. */
  registryImages?: string[];
}

/** A {@link Containers} kept in memory, with the controls a test needs to set the scene and look at it. */
export interface FakeContainers extends Containers {
  /** The health probe to inject: answers for the container published on the target's host port. */
  probe: HealthProbe;
  /** Sets how containers of `image` behave from their next start on. */
  script(image: string, behaviour: FakeBehaviour): void;
  /** Every container, Berth's or not, as the engine would report it now (oldest first). */
  all(): ContainerInfo[];
  /** What the handlers asked of the engine, in order: `create <name>`, `start <name>`, `stop …`, `remove …`. */
  readonly calls: string[];
  /** `docker stop` outside Berth: the container stops with `exitCode`, its ports released. */
  stopByHand(containerId: string, exitCode?: number): void;
  /** `docker rm -f` outside Berth. */
  removeByHand(containerId: string): void;
  /** A running container someone else started, labelled `labels` but without `berth.managed=true`. */
  addForeign(name: string, labels: Record<string, string>): string;
  /** The image is present locally. */
  hasImage(image: string): boolean;
}

const firstHostPort = 32768;

/** An in-memory container engine that behaves like Docker where the deployment handlers depend on it. */
export function createFakeContainers(options: FakeContainersOptions = {}): FakeContainers {
  const local = new Set(options.localImages ?? []);
  const registry = new Set(options.registryImages ?? []);
  const behaviours = new Map<string, FakeBehaviour>();
  const records = new Map<string, Entry>();
  const calls: string[] = [];
  let nextId = 1;
  let nextHostPort = firstHostPort;
  let nextIp = 0;
  let lastCreated = 0;

  const isManaged = (r: Entry) => r.labels[berthLabels.managed] === 'true';
  const snapshot = (r: Entry): ContainerInfo => structuredClone(r.info);
  const managed = (filter: (r: Entry) => boolean) =>
    [...records.values()]
      .filter((r) => isManaged(r) && filter(r))
      .sort((a, b) => b.info.createdAt.localeCompare(a.info.createdAt))
      .map(snapshot);

  /** Looks a container up by id or name and insists it is Berth's. */
  function find(containerId: string): Entry {
    const found = records.get(containerId) ?? [...records.values()].find((r) => r.info.name === containerId);
    if (found === undefined) throw new ContainerError('container_not_found', `no container ${containerId}`);
    if (!isManaged(found)) {
      throw new ContainerError(
        'not_managed',
        `container ${containerId} is not managed by Berth (no berth.managed=true)`,
      );
    }
    return found;
  }

  function write(r: Entry, text: string) {
    const stderr = text.startsWith('!');
    r.logs.push({ stream: stderr ? 'stderr' : 'stdout', line: stderr ? text.slice(1) : text, at: isoNow() });
    for (const wake of r.followers) wake();
  }

  function end(r: Entry, exitCode: number) {
    clearTimeout(r.exitTimer);
    if (!r.info.running) return;
    Object.assign(r.info, { state: 'exited', running: false, exitCode, hostPorts: {}, networkIp: null });
    for (const wake of [...r.followers]) wake();
  }

  function run(r: Entry) {
    if (r.info.running) return;
    const behaviour = behaviours.get(r.image) ?? {};
    if (behaviour.startFails !== undefined) {
      throw new ContainerError('container_start_failed', `starting ${r.info.name}: ${behaviour.startFails}`);
    }
    const hostPorts = Object.fromEntries(r.ports.map((port) => [port, nextHostPort++]));
    // Like Docker's IPAM: the next free address on the network at every start.
    const networkIp = `172.30.${Math.floor(nextIp / 250)}.${(nextIp++ % 250) + 2}`;
    Object.assign(r.info, {
      state: 'running',
      running: true,
      exitCode: null,
      hostPorts,
      networkIp,
      startedAt: isoNow(),
    });
    r.checks = 0;
    for (const line of behaviour.output ?? []) write(r, line);
    if (behaviour.exitCode === undefined) return;
    const exitCode = behaviour.exitCode;
    if ((behaviour.exitAfterMs ?? 0) === 0) end(r, exitCode);
    else r.exitTimer = setTimeout(() => end(r, exitCode), behaviour.exitAfterMs).unref();
  }

  /** A new container in state `created`, labelled `labels`, ids and creation times increasing. */
  function add(prefix: string, name: string, labels: Record<string, string>, image: string, ports: number[]): Entry {
    lastCreated = Math.max(Date.now(), lastCreated + 1);
    const id = `${prefix}${String(nextId++).padStart(8, '0')}`;
    const info: ContainerInfo = {
      id,
      name,
      deploymentId: labels[berthLabels.deployment] ?? '',
      resourceId: labels[berthLabels.resource] ?? '',
      state: 'created',
      running: false,
      exitCode: null,
      hostPorts: {},
      networkIp: null,
      createdAt: new Date(lastCreated).toISOString(),
      startedAt: null,
      restartCount: 0,
    };
    const entry: Entry = { info, labels, image, ports, logs: [], checks: 0, followers: new Set() };
    records.set(id, entry);
    return entry;
  }

  function create(spec: ContainerSpec): Entry {
    const body = containerCreateOptions(spec);
    const name = body.name as string;
    if (!local.has(spec.image))
      throw new ContainerError('image_not_found', `creating ${name}: No such image: ${spec.image}`);
    if ([...records.values()].some((r) => r.info.name === name)) {
      throw new ContainerError('container_create_failed', `creating ${name}: the name "/${name}" is already in use`);
    }
    calls.push(`create ${name}`);
    return add('fake', name, body.Labels ?? {}, spec.image, publishedPorts(spec));
  }

  /** Starts a stopped container (a running one is left as is) and reads it back. */
  function started(r: Entry): ContainerInfo {
    if (!r.info.running) {
      calls.push(`start ${r.info.name}`);
      run(r);
    }
    return snapshot(r);
  }

  const containers: FakeContainers = {
    calls,

    async ensureImage(image, onProgress, signal) {
      if (signal?.aborted) throw signal.reason;
      if (local.has(image)) return { pulled: false };
      if (!registry.has(image)) {
        throw new ContainerError(
          'image_not_found',
          `pulling ${image}: manifest for ${image} not found: manifest unknown`,
        );
      }
      onProgress(`Pulling from ${image}`);
      onProgress(`Status: Downloaded newer image for ${image}`);
      local.add(image);
      return { pulled: true };
    },

    async createAndStart(spec) {
      const existing = managed((r) => r.info.deploymentId === spec.deploymentId)[0];
      return started(existing === undefined ? create(spec) : find(existing.id));
    },

    findDeploymentContainer: async (deploymentId) => managed((r) => r.info.deploymentId === deploymentId)[0] ?? null,
    listResourceContainers: async (resourceId) => managed((r) => r.labels[berthLabels.resource] === resourceId),
    listManagedContainers: async () => managed(() => true),

    async inspect(containerId) {
      const found = records.get(containerId);
      return found === undefined || !isManaged(found) ? null : snapshot(found);
    },

    start: async (containerId) => started(find(containerId)),

    async stop(containerId) {
      if (!records.has(containerId)) return;
      const record = find(containerId);
      calls.push(`stop ${record.info.name}`);
      end(record, 143);
    },

    async remove(containerId) {
      if (!records.has(containerId)) return;
      const record = find(containerId);
      calls.push(`remove ${record.info.name}`);
      end(record, 137);
      records.delete(containerId);
    },

    async logs(containerId, { since, tail }) {
      const lines = find(containerId).logs.filter((l) => since === undefined || Date.parse(l.at) >= since.getTime());
      return tail === undefined ? lines : lines.slice(-tail);
    },

    async followLogs(containerId, { since, signal }, onLine) {
      const record = find(containerId);
      let delivered = 0;
      await new Promise<void>((resolve) => {
        const wake = () => {
          for (; delivered < record.logs.length; delivered++) {
            const line = record.logs[delivered]!;
            if (since === undefined || Date.parse(line.at) >= since.getTime()) onLine(line);
          }
          // Like the engine's stream: it ends once the container no longer runs, or when the caller aborts.
          if (!record.info.running || signal.aborted || !records.has(containerId)) {
            record.followers.delete(wake);
            signal.removeEventListener('abort', wake);
            resolve();
          }
        };
        record.followers.add(wake);
        signal.addEventListener('abort', wake, { once: true });
        wake();
      });
    },

    probe: async (health, target): Promise<CheckResult> => {
      const record = [...records.values()].find(
        (r) => r.info.running && r.info.hostPorts[target.containerPort] === target.hostPort,
      );
      if (target.signal.aborted) return { ok: false, detail: 'canceled' };
      if (record === undefined) return { ok: false, detail: 'connection refused' };
      const behaviour = behaviours.get(record.image) ?? {};
      record.checks += 1;
      const passes = (behaviour.healthy ?? true) && record.checks > (behaviour.failingChecks ?? 0);
      if (health.type === 'tcp' || health.http === null) {
        return passes
          ? { ok: true, detail: `port ${target.containerPort} accepted a connection` }
          : { ok: false, detail: `connection closed at once (is anything listening on port ${target.containerPort}?)` };
      }
      const request = `${health.http.method} ${health.http.path}`;
      const status = passes ? health.http.expectedStatusCode : 503;
      return passes
        ? { ok: true, detail: `${request} answered ${status}` }
        : { ok: false, detail: `${request} answered ${status}, expected ${health.http.expectedStatusCode}` };
    },

    script: (image, behaviour) => void behaviours.set(image, behaviour),
    all: () => [...records.values()].map(snapshot),
    hasImage: (image) => local.has(image),

    stopByHand(containerId, exitCode = 137) {
      const record = records.get(containerId);
      if (record) end(record, exitCode);
    },

    removeByHand(containerId) {
      const record = records.get(containerId);
      if (record) end(record, 137);
      records.delete(containerId);
    },

    addForeign(name, labels) {
      const entry = add('other', name, labels, 'other', []);
      Object.assign(entry.info, { state: 'running', running: true, startedAt: isoNow() });
      return entry.info.id;
    },
  };
  return containers;
}

function isoNow(): string {
  return new Date().toISOString();
}
