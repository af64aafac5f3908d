import { Writable } from 'node:stream';
import type { MikroORM } from '@mikro-orm/postgresql';
import { type AgentGateway, createAgentGateway } from '../../control-plane/agent-gateway/gateway.js';
import { createNotifyHub, type NotifyHub } from '../../control-plane/db/notify-hub.js';
import { migrate, openOrm } from '../../control-plane/db/orm.js';
import { commandOutcomesChannel, commandsChannel } from '../../control-plane/modules/agent-commands/channels.js';
import { type CommandService, createCommandService } from '../../control-plane/modules/agent-commands/service.js';
import { Organization } from '../../control-plane/modules/identity/entity.js';
import { Server } from '../../control-plane/modules/servers/entity.js';
import { newId } from '../../shared/ids.js';
import { createLogger } from '../../shared/logger.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createCertificateRequest,
  generateKeyPair,
  issueClientCertificate,
} from '../../shared/pki.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { FakeAgent, type FakeAgentOptions } from './fake-agent.js';

/** Client key and certificate for one server, as enrollment would hand them to its agent. */
export interface AgentCredentials {
  keyPem: string;
  certPem: string;
  serial: string;
}

/** A gateway on its own fresh database, listening on 127.0.0.1 with TLS, for tests in this folder. */
export interface GatewayFixture {
  orm: MikroORM;
  ca: CertificateAuthority;
  gateway: AgentGateway;
  port: number;
  heartbeatIntervalMs: number;
  unreachableAfterMs: number;
  /** Every log line so far (JSON text). */
  logs: string[];
  /** The first gateway's notification hub (each replica has its own, as separate processes would). */
  hub: NotifyHub;
  /** A command service on the first gateway's hub. */
  commands: CommandService;
  /** A second gateway (another replica) on the same database and CA; the fixture stops it on close. */
  startReplica(): Promise<{ gateway: AgentGateway; port: number }>;
  /** Inserts an active server row; returns its id. */
  createServer(): Promise<string>;
  /** Issues a client certificate for `serverId` (by `ca`, at `now`), as enrollment or renewal would. */
  issueCredentials(serverId: string, options?: { ca?: CertificateAuthority; now?: Date }): Promise<AgentCredentials>;
  /** A fake agent for `serverId` (not yet connected), with fresh credentials unless given. */
  agent(serverId: string, options?: Partial<FakeAgentOptions>): Promise<FakeAgent>;
  /** The server's row as stored now. */
  server(serverId: string): Promise<Server>;
  /** Polls `check` until it returns true; rejects after `timeoutMs`. */
  waitUntil(check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a gateway with short intervals (heartbeat 100 ms, unreachable after 400 ms unless given). */
export async function startGatewayFixture(
  settings: { heartbeatIntervalMs?: number; unreachableAfterMs?: number } = {},
): Promise<GatewayFixture> {
  const heartbeatIntervalMs = settings.heartbeatIntervalMs ?? 100;
  const unreachableAfterMs = settings.unreachableAfterMs ?? 400;
  const db: TestDatabase = await createTestDatabase();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: 'debug', name: 'control-plane', destination });
  const orm = await openOrm(db.url, log);
  await migrate(orm, db.url, log);
  const ca = await createCertificateAuthority('Berth test agent CA', 30);
  const hubs: NotifyHub[] = [];
  const newHub = async () => {
    const hub = createNotifyHub({
      databaseUrl: db.url,
      channels: [commandsChannel, commandOutcomesChannel],
      log,
      clock: () => new Date(),
    });
    hubs.push(hub);
    await hub.start();
    return hub;
  };
  const newGateway = (hub: NotifyHub) =>
    createAgentGateway({
      orm,
      hub,
      ca,
      log,
      host: '127.0.0.1',
      port: 0,
      heartbeatIntervalMs,
      unreachableAfterMs,
      agentCertificateDays: 7,
    });
  const hub = await newHub();
  const gateway = newGateway(hub);
  const replicas: AgentGateway[] = [];
  const { port } = await gateway.start();
  const organizationId = newId('organization');
  const at = new Date();
  await orm.em
    .fork()
    .insert(Organization, { id: organizationId, name: 'Test', slug: 'test', createdAt: at, updatedAt: at });
  const agents: FakeAgent[] = [];

  const fixture: GatewayFixture = {
    orm,
    ca,
    gateway,
    port,
    heartbeatIntervalMs,
    unreachableAfterMs,
    logs,
    hub,
    commands: createCommandService({ now: () => new Date(), hub }),
    async startReplica() {
      const replica = newGateway(await newHub());
      replicas.push(replica);
      return { gateway: replica, port: (await replica.start()).port };
    },
    async createServer() {
      const id = newId('server');
      const now = new Date();
      await orm.em.fork().insert(Server, {
        id,
        organization: organizationId,
        name: id,
        nameKey: id,
        host: '192.0.2.10',
        providerKey: 'generic',
        targetKind: 'single-server',
        proxyKind: 'caddy',
        lifecycleStatus: 'active',
        connectionState: 'never-connected',
        createdAt: now,
        updatedAt: now,
      });
      return id;
    },
    async issueCredentials(serverId, options = {}) {
      const { keys, privateKeyPem } = await generateKeyPair();
      const csr = await createCertificateRequest(keys, serverId);
      const issued = await issueClientCertificate(options.ca ?? ca, csr, serverId, 7, options.now ?? new Date());
      return { keyPem: privateKeyPem, certPem: issued.certificatePem, serial: issued.serialNumber };
    },
    async agent(serverId, options = {}) {
      const credentials = options.certPem ? undefined : await fixture.issueCredentials(serverId);
      const agent = new FakeAgent({
        port,
        caPem: ca.certificatePem,
        keyPem: credentials?.keyPem ?? '',
        certPem: credentials?.certPem ?? '',
        serverId,
        ...options,
      });
      agents.push(agent);
      return agent;
    },
    async server(serverId) {
      return orm.em.fork().findOneOrFail(Server, serverId);
    },
    async waitUntil(check, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      await Promise.all(agents.map((agent) => agent.dispose()));
      await Promise.all([gateway, ...replicas].map((each) => each.stop()));
      await Promise.all(hubs.map((each) => each.stop()));
      await orm.close();
      await db.drop();
    },
  };
  return fixture;
}
