import type { ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../shared/logger.js';
import { berthVersion } from '../shared/version.js';
import { listeningUrl } from './app.js';
import { composeControlPlane } from './compose.js';
import { type ControlPlaneConfig, sanitizeControlPlaneConfig } from './config.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './db/embedded-postgres.js';
import { migrate, openOrm } from './db/orm.js';
import type { LocalAgentEnrollment } from './modules/servers/local-server.js';
import { loadOrCreateAgentCa } from './pki/ca-store.js';
import { loadKeyRing } from './secrets/key-ring.js';

/** A started control plane. */
export interface RunningControlPlane {
  /** Where the HTTP API answers. */
  url: string;
  app: FastifyInstance;
  /** Registers this machine as the server "local" and issues its enrollment token (`berth dev`). */
  provisionLocalAgent: () => Promise<LocalAgentEnrollment | null>;
  /** Graceful stop: stop accepting, finish in-flight requests, close the ORM, stop the embedded database. */
  stop(): Promise<void>;
}

/**
 * Starts the control plane: the database (BERTH_DATABASE_URL, or an embedded PostgreSQL under the data folder),
 * migrations, then the HTTP API. Failures on the way undo what was started.
 */
export async function startControlPlane(
  config: ControlPlaneConfig,
  log: Logger,
  isShuttingDown: () => boolean = () => false,
): Promise<RunningControlPlane> {
  const started = Date.now();
  log.info({ version: berthVersion, config: sanitizeControlPlaneConfig(config) }, 'starting control plane');
  let embedded: EmbeddedPostgres | undefined;
  let orm: MikroORM | undefined;
  try {
    let url = config.databaseUrl;
    if (url === undefined) {
      embedded = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        log,
        onUnexpectedExit: (code, signal) => {
          // Ctrl-C in a terminal signals PostgreSQL too (same process group): expected while shutting down.
          if (isShuttingDown()) return;
          // Without its database the control plane can only answer errors: exit so a supervisor restarts both.
          log.fatal({ code, signal }, 'the embedded PostgreSQL exited unexpectedly; stopping');
          process.exit(1);
        },
      });
      url = embedded.url;
    }
    orm = await openOrm(url, log.child({ component: 'orm' }));
    await migrate(orm, url, log);
    const keyRing = loadKeyRing({ secretKey: config.secretKey, dataDir: config.dataDir, log });
    const ca = await loadOrCreateAgentCa(orm.em.fork(), keyRing, log);
    const parts = await composeControlPlane({ config, log, orm, databaseUrl: url, keyRing, ca });
    const { app, services } = parts;
    // Node's close() ends only the connections idle at that moment: a keep-alive connection whose request is still
    // being answered would hold the shutdown for the whole keep-alive timeout (72 s) after its answer. Track those
    // requests so stop() can answer them with `Connection: close`.
    const inFlight = new Set<ServerResponse>();
    app.server.on('request', (_req, res: ServerResponse) => {
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
    });
    await app.listen({ host: config.httpHost, port: config.httpPort });
    try {
      await parts.startLink();
    } catch (error) {
      await parts.stop();
      throw error;
    }
    const apiUrl = listeningUrl(app, config);
    log.info({ url: apiUrl, grpcAddress: parts.grpcAddress(), startupMs: Date.now() - started }, 'control plane ready');
    const ormToClose = orm;
    const embeddedToStop = embedded;
    return {
      url: apiUrl,
      app,
      provisionLocalAgent: () => services.localServer.provision(ormToClose.em.fork()),
      async stop() {
        log.info('stopping control plane');
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        // Agents first: their sessions end cleanly (they reconnect to whichever replica is up), then the API.
        await parts.stop();
        await ormToClose.close();
        await embeddedToStop?.stop();
        log.info('control plane stopped');
      },
    };
  } catch (error) {
    await orm?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs the control plane until SIGTERM or SIGINT, then stops it gracefully (a second signal exits at once).
 * `onReady` receives the running control plane and its logger; what it returns runs first at shutdown.
 */
export async function runControlPlane(
  config: ControlPlaneConfig,
  onReady?: (running: RunningControlPlane, log: Logger) => (() => Promise<void>) | undefined,
): Promise<void> {
  const log = createLogger({ level: config.logLevel, name: 'control-plane' });
  let stopping = false;
  const running = await startControlPlane(config, log, () => stopping);
  const beforeStop = onReady?.(running, log);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      (beforeStop ?? (async () => undefined))()
        .then(() => running.stop())
        .then(resolve, (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
