import { mkdir } from 'node:fs/promises';
import nodePath from 'node:path';
import type {
  EdgeBootstrapResult,
  EdgeInspectPayload,
  EdgeInspectResult,
  EdgeRoute,
  EdgeSyncPayload,
  EdgeSyncResult,
} from '../../shared/edge-command.js';
import type { Logger } from '../../shared/logger.js';
import { type Clock, systemClock } from '../../shared/time.js';
import { readJsonFile, writeFileAtomic } from '../json-file.js';
import { bootstrapCaddy } from './bootstrap.js';
import { type CaddyAdmin, CaddyAdminError, createCaddyAdmin } from './caddy-admin.js';
import { type AcmeSettings, buildEdgeObjects } from './edge-document.js';
import { canonical, mergeEdgeObjects } from './edge-merge.js';
import { probeServedCertificate } from './served-certificates.js';
import { readServedRoutes } from './served-routes.js';

/** What the edge needs of the agent's upstream resolver (agent/edge/resolver.ts). */
export interface EdgeUpstreams {
  /** `127.0.0.1:N` (UDP), written into every route's `dynamic_upstreams`. */
  readonly address: string;
  get(resourceId: string): string | null;
}

/** Options of {@link createCaddyEdge}. */
export interface CaddyEdgeOptions {
  adminUrl: string;
  /** The agent's state folder: `edge/applied.json` (0600; it holds imported keys) and Caddy's folder `caddy/`. */
  stateDir: string;
  httpPort: number;
  httpsPort: number;
  acme: AcmeSettings;
  upstreams: EdgeUpstreams;
  log: Logger;
  clock?: Clock;
  /** How often the applied document is checked against Caddy and put back if Caddy lost it (30 s). */
  recheckMs?: number;
  /** The static upstream of a route; by default the resolver's current record on the route's port. */
  fallback?: (route: EdgeRoute) => { host: string; port: number } | null;
  /** The admin client; a test passes one over a counting `fetch`. */
  admin?: CaddyAdmin;
  caddyBinary?: string;
}

/** The edge proxy as the handlers see it; see {@link createCaddyEdge}. */
export interface CaddyEdge {
  sync(document: EdgeSyncPayload): Promise<EdgeSyncResult>;
  bootstrap(): Promise<EdgeBootstrapResult>;
  inspect(payload: EdgeInspectPayload): Promise<EdgeInspectResult>;
  /** Loads the applied document and starts the periodic re-check (the first one at once). */
  start(): Promise<void>;
  /** Stops the re-check and waits for a running one. */
  stop(): Promise<void>;
}

/** The last document applied, as persisted. */
interface AppliedState {
  version: number;
  status: EdgeSyncResult['status'];
  appliedAt: string;
  document: EdgeSyncPayload;
}

/** Attempts of one apply when the config keeps changing between read and write (HTTP 412). */
const maxAttempts = 5;

/**
 * Serves edge documents in Caddy. A sync reads Caddy's whole config, puts Berth's objects into a copy (edge-merge.ts)
 * and, only when that copy differs, writes it in one compare-and-swap `POST /config/`: Caddy loads all of it or
 * none of it, so a refused document leaves what Caddy serves, and what it reports, exactly as it was; and a write
 * made meanwhile by anyone else (the traffic switch, a person) is never lost, the apply starts again on a fresh read.
 * Syncs and re-checks are serialized. Documents older than the applied one are answered with the applied one.
 */
export function createCaddyEdge(options: CaddyEdgeOptions): CaddyEdge {
  const { log, upstreams, httpPort, httpsPort } = options;
  const clock = options.clock ?? systemClock;
  const admin = options.admin ?? createCaddyAdmin({ adminUrl: options.adminUrl });
  const file = nodePath.join(options.stateDir, 'edge', 'applied.json');
  // No static fallback by default: see resolver-daemon.ts for why a stale container address is worse than a 503.
  const fallback = options.fallback ?? (() => null);
  let state: AppliedState | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastRecheckError = '';

  function serialized<T>(operation: () => Promise<T>): Promise<T> {
    const next = queue.then(operation, operation);
    queue = next.catch(() => undefined);
    return next;
  }

  /** Puts `document` in place; true when Caddy's config was written. */
  async function apply(document: EdgeSyncPayload): Promise<boolean> {
    const objects = buildEdgeObjects(document, {
      httpPort,
      httpsPort,
      acme: options.acme,
      resolver: upstreams.address,
      fallback,
    });
    for (let attempt = 1; ; attempt++) {
      const snapshot = await admin.read();
      const merged = mergeEdgeObjects(snapshot.config, objects);
      if (canonical(merged) === canonical(snapshot.config ?? {})) return false;
      try {
        await admin.replace(snapshot, merged);
        return true;
      } catch (error) {
        if (!(error instanceof CaddyAdminError && error.status === 412) || attempt >= maxAttempts) throw error;
        log.debug({ attempt }, "Caddy's config changed while the edge was applied; reading it again");
      }
    }
  }

  async function persist(next: AppliedState): Promise<void> {
    await mkdir(nodePath.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, `${JSON.stringify(next)}\n`, 0o600);
  }

  function resultOf(applied: AppliedState, changed: boolean): EdgeSyncResult {
    return {
      version: applied.version,
      status: applied.status,
      changed,
      appliedAt: applied.appliedAt,
      httpPort,
      httpsPort,
    };
  }

  /** Applies the kept document again; Caddy restarted without `--resume` (or someone removed it) is repaired. */
  async function recheck(): Promise<void> {
    const applied = state;
    if (applied === null) return;
    try {
      if (await apply(applied.document)) {
        log.warn({ version: applied.version }, "Berth's edge config was missing from Caddy; applied it again");
      }
      lastRecheckError = '';
    } catch (error) {
      const message = (error as Error).message;
      // Once per kind of failure: a Caddy that stays down must not fill the log every 30 s.
      if (message !== lastRecheckError) log.warn({ err: error }, "could not check Berth's edge config in Caddy");
      lastRecheckError = message;
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void serialized(recheck).finally(() => schedule(options.recheckMs ?? 30_000));
    }, delayMs);
  }

  return {
    sync(document) {
      return serialized(async () => {
        if (state !== null && document.version < state.version) {
          log.info({ version: document.version, kept: state.version }, 'ignoring an older edge document');
          return resultOf(state, false);
        }
        const changed = await apply(document);
        const next: AppliedState = {
          version: document.version,
          status: document.proxyKind === 'none' ? 'disabled' : 'ready',
          appliedAt: clock().toISOString(),
          document,
        };
        state = next;
        await persist(next);
        log.info(
          { version: next.version, status: next.status, changed, routes: document.routes.length },
          'edge synced',
        );
        return resultOf(next, changed);
      });
    },

    async bootstrap() {
      const outcome = await bootstrapCaddy({ admin, stateDir: options.stateDir, binary: options.caddyBinary });
      log.info(outcome, 'edge proxy ready');
      // A Caddy just started may have come up without Berth's routes (no autosave yet): put them back now.
      await serialized(recheck);
      return { ...outcome, adminUrl: admin.adminUrl, httpPort, httpsPort };
    },

    async inspect(payload) {
      const observedAt = clock().toISOString();
      let config: Record<string, unknown> | null = null;
      let error = '';
      try {
        config = (await admin.read()).config;
      } catch (failure) {
        error = (failure as Error).message;
      }
      const routes = state?.document.routes ?? [];
      const served = readServedRoutes(config, {
        resourceOf: (routeId) => routes.find((r) => r.routeId === routeId)?.resourceId ?? null,
        resolve: (resourceId) => upstreams.get(resourceId),
        resourceIds: payload.resourceIds,
      });
      const certificates = await Promise.all(
        payload.tlsHostnames.map((hostname) =>
          probeServedCertificate({ host: '127.0.0.1', port: httpsPort, hostname }),
        ),
      );
      return {
        observedAt,
        reachable: error === '',
        error,
        adminUrl: admin.adminUrl,
        httpPort,
        httpsPort,
        appliedVersion: state?.version ?? 0,
        routes: served.routes,
        foreignRouteCount: served.foreignRouteCount,
        certificates,
      };
    },

    async start() {
      const saved = (await readJsonFile(file)) as AppliedState | undefined;
      if (saved && Number.isInteger(saved.version) && saved.document) state = saved;
      stopped = false;
      schedule(0);
    },

    async stop() {
      stopped = true;
      clearTimeout(timer);
      await queue;
    },
  };
}
