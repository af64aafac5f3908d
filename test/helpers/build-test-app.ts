import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { type ControlPlaneParts, composeControlPlane } from '../../control-plane/compose.js';
import { type ControlPlaneConfig, parseControlPlaneConfig } from '../../control-plane/config.js';
import { migrate, openOrm } from '../../control-plane/db/orm.js';
import { loadOrCreateAgentCa } from '../../control-plane/pki/ca-store.js';
import { createKeyRing, type KeyRing } from '../../control-plane/secrets/key-ring.js';
import { createLogger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/** A control plane built on its own fresh database, driven with `inject()`. */
export interface TestApp {
  app: FastifyInstance;
  orm: MikroORM;
  db: TestDatabase;
  config: ControlPlaneConfig;
  keyRing: KeyRing;
  /** The whole composition (services, hub, and the agent gateway, not started: `parts.startLink()` starts it). */
  parts: ControlPlaneParts;
  /** Every log line written so far (JSON text), for tests that scan logs for secrets. */
  logs: string[];
  /** `inject` with a JSON body and an optional bearer token. */
  request(options: InjectOptions & { token?: string; json?: unknown }): Promise<LightMyRequestResponse>;
  /** Creates the first admin and logs in; returns the token and ids. */
  bootstrap(): Promise<{ token: string; email: string; password: string; userId: string; organizationId: string }>;
  close(): Promise<void>;
}

/** Builds the real composition root on a fresh database (migrated like production), with `env` overriding settings. */
export async function buildTestApp(
  options: { env?: Record<string, string>; clock?: Clock; keyRing?: KeyRing } = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const logs: string[] = [];
  const log = createLogger({
    level: 'debug',
    name: 'control-plane',
    destination: new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  // The gateway, when a test starts it, listens on a free loopback port with quick heartbeats.
  const config = parseControlPlaneConfig({
    BERTH_DATA_DIR: '/tmp/berth-test-unused',
    BERTH_GRPC_HOST: '127.0.0.1',
    BERTH_GRPC_PORT: '0',
    BERTH_HEARTBEAT_INTERVAL_MS: '200',
    BERTH_UNREACHABLE_AFTER_MS: '3000',
    ...options.env,
  });
  const orm = await openOrm(db.url, log);
  await migrate(orm, db.url, log);
  const keyRing = options.keyRing ?? createKeyRing(randomBytes(32));
  const ca = await loadOrCreateAgentCa(orm.em.fork(), keyRing, log);
  const parts = await composeControlPlane({
    config,
    log,
    orm,
    databaseUrl: db.url,
    keyRing,
    ca,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { app } = parts;
  await app.ready();

  const request: TestApp['request'] = async ({ token, json, headers, ...rest }) =>
    app.inject({
      ...rest,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(json !== undefined ? { payload: JSON.stringify(json) } : {}),
    });

  return {
    app,
    orm,
    db,
    config,
    keyRing,
    parts,
    logs,
    request,
    async bootstrap() {
      const email = 'ada@example.com';
      const created = await request({
        method: 'POST',
        url: '/bootstrap/auth/first-admin',
        json: { email, displayName: 'Ada Lovelace' },
      });
      if (created.statusCode !== 201) throw new Error(`bootstrap failed: ${created.body}`);
      const { generatedPassword: password, userId, organizationId } = created.json();
      const login = await request({ method: 'POST', url: '/auth/sessions', json: { email, password } });
      if (login.statusCode !== 201) throw new Error(`login failed: ${login.body}`);
      return { token: login.json().token, email, password, userId, organizationId };
    },
    async close() {
      await parts.stop();
      await orm.close();
      await db.drop();
    },
  };
}
