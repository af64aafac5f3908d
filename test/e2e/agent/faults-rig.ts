import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { freePort } from '../../../shared/free-port.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { type PrivateDockerd, startDockerd } from '../../helpers/dockerd.js';
import { type BerthProcess, cleanUpDataDir, killAllBerthProcesses, makeDataDir } from '../helpers/berth-process.js';
import { CommandsDb } from './commands-db.js';
import { type AgentView, Api, startControlPlane } from './control-plane.js';
import { type LinkProxy, startLinkProxy } from './link-proxy.js';
import { cleanEnv, eventually, killAllSpawned, type LoggedProcess, settleAll, spawnLogged } from './processes.js';

/** Fast liveness so faults show within seconds. Production: heartbeats every 5 s, unreachable after 15 s. */
export const heartbeatIntervalMs = 500;
export const unreachableAfterMs = 3_000;
// The agent's reconnect backoff is full jitter, 1 s doubling to 60 s, with no setting to shorten it. The jitter is
// pinned to its mean (each delay is half its ceiling: 0.5, 1, 2, 4, 8, 16, 30 s), which keeps the real backoff
// but makes "how long until it is back" deterministic instead of anything up to 60 s.
const meanJitter = 'data:text/javascript,Math.random = () => 0.5;';

/** Seconds since `since`, for the timings report. */
export const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/**
 * Everything a fault test drives, as separate real processes: a private dockerd, `berth control-plane` on the
 * throwaway PostgreSQL with fixed ports, a link proxy between agent and gateway, and the agent bundle the install
 * script would install, run with `node`.
 */
export class FaultRig {
  readonly timings: Record<string, string> = {};
  /** Every control plane and agent process, for log searches across restarts. */
  readonly cpRuns: BerthProcess[] = [];
  readonly agentRuns: LoggedProcess[] = [];
  db?: TestDatabase;
  commands?: CommandsDb;
  dockerd?: PrivateDockerd;
  proxy?: LinkProxy;
  cp?: BerthProcess;
  api!: Api;
  agent!: LoggedProcess;
  serverId = '';
  work = '';
  dataDir = '';
  stateDir = '';
  /** The agent's DOCKER_HOST: a symlink to the engine's socket, so a test can make Docker vanish at once. */
  dockerLink = '';
  private bundle = '';
  private cpEnv: Record<string, string> = {};
  /** More settings for the agent (e.g. BERTH_CADDY_ADMIN_URL), set before `start()`. */
  agentEnv: Record<string, string> = {};

  /** Starts everything, enrolls the agent and waits until it is connected. */
  async start(): Promise<void> {
    this.work = await mkdtemp('/tmp/berth-faults-');
    this.dataDir = await makeDataDir();
    this.stateDir = path.join(this.work, 'agent-state');
    this.dockerLink = path.join(this.work, 'docker.sock');
    // Settled both ways before going on, so stop() can undo whichever of the two did start.
    await settleAll([
      createTestDatabase().then((db) => (this.db = db)),
      startDockerd().then((dockerd) => (this.dockerd = dockerd)),
    ]);
    const db = this.db!;
    await symlink(this.dockerd!.socketPath, this.dockerLink);
    // Fixed ports, so a restarted control plane is where the agent left it. The agent dials the gateway through
    // the proxy because the control plane hands out the proxy's address at enrollment.
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    this.proxy = await startLinkProxy({ host: '127.0.0.1', port: grpcPort });
    this.cpEnv = {
      BERTH_DATABASE_URL: db.url,
      BERTH_HTTP_PORT: String(httpPort),
      BERTH_GRPC_PORT: String(grpcPort),
      BERTH_GRPC_PUBLIC_ADDRESS: `127.0.0.1:${this.proxy.port}`,
      BERTH_HEARTBEAT_INTERVAL_MS: String(heartbeatIntervalMs),
      BERTH_UNREACHABLE_AFTER_MS: String(unreachableAfterMs),
    };
    await this.bootControlPlane();
    this.commands = await CommandsDb.connect(db.url);
    await this.api.bootstrap();
    this.serverId = await this.api.createServer('faulty-1');
    await this.downloadBundle();
    const { token, caSha256 } = await this.api.enrollment(this.serverId);
    const args = [this.bundle, 'enroll', '--url', this.api.url, '--token', token, '--ca-sha256', caSha256];
    const enroll = spawnLogged(process.execPath, args, { env: cleanEnv({ BERTH_AGENT_STATE_DIR: this.stateDir }) });
    expect(await enroll.exited, enroll.output()).toEqual({ code: 0, signal: null });
    const agentJson = JSON.parse(await readFile(path.join(this.stateDir, 'agent.json'), 'utf8')) as { grpcUrl: string };
    expect(agentJson.grpcUrl).toBe(`127.0.0.1:${this.proxy.port}`);
    const startedAt = Date.now();
    this.startAgent();
    await this.reaches('connected', 10_000, 'first start', startedAt);
  }

  /** `berth control-plane` on the same data folder, database and ports every time. */
  async bootControlPlane(): Promise<void> {
    const started = await startControlPlane(this.dataDir, this.cpEnv);
    this.cp = started.berth;
    this.cpRuns.push(started.berth);
    // Same port after a restart, so the logged-in client carries on.
    if (this.cpRuns.length === 1) this.api = new Api(started.url);
    expect(started.url).toBe(this.api.url);
  }

  /** Runs the agent bundle with `node`, as the install script's wrapper does. */
  startAgent(): LoggedProcess {
    const env = cleanEnv({
      BERTH_AGENT_STATE_DIR: this.stateDir,
      DOCKER_HOST: `unix://${this.dockerLink}`,
      BERTH_LOG_LEVEL: 'info',
      ...this.agentEnv,
    });
    this.agent = spawnLogged(process.execPath, ['--import', meanJitter, this.bundle, 'run'], { env });
    this.agentRuns.push(this.agent);
    return this.agent;
  }

  /** Waits for `GET /servers/{id}` to show `state`; records how long it took since `since` as `what`. */
  async reaches(state: AgentView['connectionState'], timeoutMs: number, what: string, since = Date.now()) {
    const view = await eventually(
      `${what}: the server should become ${state}`,
      async () => {
        const current = await this.api.agent(this.serverId);
        return current.connectionState === state ? current : undefined;
      },
      timeoutMs,
      50,
    );
    this.timings[what] = `${state} after ${seconds(since)}`;
    return view;
  }

  /** Log lines of every control plane run so far that match. */
  gatewayLines(match: (line: Record<string, unknown>) => boolean): Array<Record<string, unknown>> {
    return this.cpRuns.flatMap((run) => run.logs()).filter(match);
  }

  /** The `agent event` lines the gateway logged for `kind` (it logs every event an agent sends). */
  events(kind: string): Array<Record<string, unknown>> {
    return this.gatewayLines((line) => line['msg'] === 'agent event' && line['kind'] === kind);
  }

  /** Ends every process and removes every file, whatever state the tests left. */
  async stop(): Promise<void> {
    await killAllSpawned();
    await this.cp?.stop().catch(() => undefined);
    await killAllBerthProcesses();
    await this.proxy?.close();
    await this.commands?.close();
    await this.db?.drop();
    await this.dockerd?.stop();
    if (this.dataDir) await cleanUpDataDir(this.dataDir);
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }

  // The bundle the install script would fetch, checked against the manifest as the script checks it.
  private async downloadBundle(): Promise<void> {
    const manifest = await this.api.expect<{ bundleSha256: string }>(200, 'GET', '/agent/manifest');
    const res = await fetch(`${this.api.url}/agent/bundle.mjs`);
    const code = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(code).digest('hex')).toBe(manifest.bundleSha256);
    this.bundle = path.join(this.work, 'berth-agent.mjs');
    await writeFile(this.bundle, code);
  }
}
