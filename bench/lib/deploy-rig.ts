import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { berthNetwork, ensureBerthNetwork } from '../../agent/workloads/network.js';
import { cleanEnv, type LoggedProcess, spawnLogged } from '../../test/e2e/agent/processes.js';
import { type BerthProcess, processesOf, startBerth } from '../../test/e2e/helpers/berth-process.js';
import { startCaddy } from '../../test/helpers/caddy.js';
import {
  createWebResource,
  type DeploymentEventView,
  type DeploymentView,
  deploy,
  deployment,
  deploymentEvents,
  ended,
  setImage,
} from '../../test/helpers/deploy-api.js';
import { ping, startDockerd } from '../../test/helpers/dockerd.js';
import { buildTestImages, type TestImages } from '../../test/helpers/images.js';
import { type ApiClient, createApiClient } from './api-client.js';
import { UndoSteps } from './harness.js';
import { startCluster } from './postgres.js';
import { waitFor } from './stats.js';

export type { DeploymentEventView, DeploymentView };

/**
 * The bench's counterpart of test/e2e/deployments/deploy-rig.ts, without vitest: a throwaway PostgreSQL cluster
 * (bench/lib/postgres.ts, not the test suite's `inject`ed one), a private dockerd, a private Caddy, the real
 * `berth control-plane` process and the real agent bundle (downloaded from the control plane and enrolled as the
 * install script would), and one project, environment and resource to deploy. The agent talks to the gateway
 * directly (no link proxy). `stop()` undoes whatever `start()` got to, and may be called at any time, twice too.
 */
export class BenchDeployRig {
  api!: ApiClient;
  docker!: Dockerode;
  images!: TestImages;
  serverId = '';
  projectId = '';
  environmentId = '';
  resourceId = '';
  /** Undo steps of what has started so far, run last first by `stop()`. */
  private readonly undo = new UndoSteps();
  private controlPlane?: BerthProcess;
  private agent?: LoggedProcess;
  private stopping?: Promise<string[]>;
  /** The host interface of the engine's `berth` network (`br-` + the first 12 characters of its id). */
  private bridge = '';

  /**
   * Starts everything, enrolls the agent, waits until it is connected and creates the resource with `image` and an
   * HTTP health check of `GET /healthz` every `healthIntervalSeconds`. `progress` gets one line per step.
   */
  async start(options: {
    image: string;
    healthIntervalSeconds: number;
    progress: (line: string) => void;
    /** More agent settings (edge ports, ACME directory). */
    agentEnv?: Record<string, string>;
  }) {
    const work = await mkdtemp('/tmp/berth-bench-deploy-');
    this.undo.push({ what: 'temp folder', run: () => rm(work, { recursive: true, force: true }) });
    const [cluster, dockerd, caddy] = await Promise.allSettled([startCluster(), startDockerd(), startCaddy()]);
    // Registered before anything can throw, so stop() undoes whichever of the three did start.
    if (cluster.status === 'fulfilled') this.undo.push({ what: 'PostgreSQL', run: () => cluster.value.stop() });
    if (caddy.status === 'fulfilled') this.undo.push({ what: 'Caddy', run: () => caddy.value.stop() });
    if (dockerd.status === 'fulfilled') {
      // Berth's network has a bridge in the host's namespace that outlives the engine. Made here (as the agent
      // would, labels included) to know its interface; containers and network go before the engine, as in
      // DeployRig.stop. A Ctrl-C reaches dockerd too, which may then be gone first, leaving the interface and
      // containerd shims behind: those are swept after the engine's stop.
      const socketPath = dockerd.value.socketPath;
      this.undo.push({ what: 'engine leftovers', run: () => this.sweepEngineLeftovers(path.dirname(socketPath)) });
      this.undo.push({ what: 'dockerd', run: () => dockerd.value.stop() });
      this.docker = new Dockerode({ socketPath });
      this.undo.push({ what: 'containers and network', run: () => this.removeContainersAndNetwork(socketPath) });
    }
    for (const result of [cluster, dockerd, caddy]) if (result.status === 'rejected') throw result.reason;
    if (cluster.status !== 'fulfilled' || dockerd.status !== 'fulfilled' || caddy.status !== 'fulfilled') return;
    await ensureBerthNetwork(this.docker);
    this.bridge = `br-${((await this.docker.getNetwork(berthNetwork).inspect()) as { Id: string }).Id.slice(0, 12)}`;
    options.progress(`PostgreSQL, dockerd (pid ${dockerd.value.pid}) and Caddy up`);

    const imagesBuilt = buildTestImages(this.docker).then(async (images) => {
      await images.web(options.image.replace(/^berth-test\/web:/, ''));
      return images;
    });
    // Awaited below; until then a failure must not count as unhandled (it would end the process before stop()).
    imagesBuilt.catch(() => undefined);
    this.controlPlane = await startBerth({
      command: 'control-plane',
      dataDir: path.join(work, 'control-plane'),
      databaseUrl: cluster.value.url,
    });
    const controlPlane = this.controlPlane;
    this.undo.push({ what: 'control plane', run: () => controlPlane.stop() });
    await cluster.value.registerChild(controlPlane.pid);
    options.progress(`control plane up at ${controlPlane.url}, pid ${controlPlane.pid}`);

    this.api = createApiClient(controlPlane.url);
    await this.api.login();
    this.serverId = (
      await this.api.expect<{ id: string }>(201, 'POST', '/servers', {
        name: 'bench-1',
        host: '127.0.0.1',
        providerKey: 'generic-ssh',
      })
    ).id;
    const bundle = await this.downloadBundle(work);
    const stateDir = path.join(work, 'agent-state');
    const { enrollment } = await this.api.expect<{ enrollment: { token: string; caSha256: string } }>(
      201,
      'POST',
      `/servers/${this.serverId}/credentials`,
      { credential: { kind: 'agent-enrollment' } },
    );
    const enrollArgs = ['enroll', '--url', this.api.url, '--token', enrollment.token];
    const enroll = spawnLogged(process.execPath, [bundle, ...enrollArgs, '--ca-sha256', enrollment.caSha256], {
      env: cleanEnv({ BERTH_AGENT_STATE_DIR: stateDir }),
    });
    const enrolled = await enroll.exited;
    if (enrolled.code !== 0) throw new Error(`agent enroll failed (${JSON.stringify(enrolled)})\n${enroll.output()}`);
    this.agent = spawnLogged(process.execPath, [bundle, 'run'], {
      env: cleanEnv({
        BERTH_AGENT_STATE_DIR: stateDir,
        DOCKER_HOST: dockerd.value.dockerHost,
        BERTH_CADDY_ADMIN_URL: caddy.value.adminUrl,
        BERTH_LOG_LEVEL: 'info',
        ...options.agentEnv,
      }),
    });
    const agent = this.agent;
    this.undo.push({ what: 'agent', run: () => agent.stop('SIGTERM', 15_000) });
    await cluster.value.registerChild(agent.pid);
    const connected = await waitFor(
      async () => (await this.connectionState()) === 'connected' || agent.exit() !== undefined,
      30_000,
      50,
    );
    if (!connected || agent.exit() !== undefined) throw new Error(`the agent did not connect\n${agent.output()}`);
    options.progress(`agent connected (pid ${agent.pid})`);

    this.images = await imagesBuilt;
    Object.assign(
      this,
      await createWebResource(this.api, {
        projectName: 'Bench',
        image: options.image,
        healthIntervalSeconds: options.healthIntervalSeconds,
      }),
    );
  }

  /** Points the resource at another image (the next deployment's snapshot takes it). */
  setImage(locator: string): Promise<void> {
    return setImage(this.api, this.resourceId, locator);
  }

  /** `POST /deployments` for the resource on the rig's server; returns the new deployment's id. */
  deploy(): Promise<string> {
    return deploy(this.api, this);
  }

  deployment(id: string): Promise<DeploymentView> {
    return deployment(this.api, id);
  }

  /** Waits (polling every 100 ms) until the deployment has ended; returns it. */
  ended(id: string, timeoutMs = 60_000): Promise<DeploymentView> {
    return ended(this.api, id, { timeoutMs, everyMs: 100 });
  }

  /** The deployment's events, oldest first. */
  events(id: string): Promise<DeploymentEventView[]> {
    return deploymentEvents(this.api, id);
  }

  /** The last lines of the control plane's and the agent's output, for a failure report. */
  /** The agent process's pid, once it runs. */
  agentPid(): number | undefined {
    return this.agent?.pid;
  }

  lastOutput(lines = 20): string {
    const tail = (text: string | undefined) => (text ?? '').split('\n').slice(-lines).join('\n');
    return `--- control plane ---\n${tail(this.controlPlane?.stdout())}\n--- agent ---\n${tail(this.agent?.stdout())}`;
  }

  /**
   * Undoes every step that ran, last first (agent, control plane, containers and network, dockerd, Caddy,
   * PostgreSQL, temp folder), carrying on past failures; resolves with what failed to stop.
   */
  stop(): Promise<string[]> {
    this.stopping ??= this.undo.runAll();
    return this.stopping;
  }

  private async connectionState(): Promise<string | undefined> {
    const view = await this.api
      .expect<{ server: { agent: { connectionState: string } } }>(200, 'GET', `/servers/${this.serverId}`)
      .catch(() => undefined);
    return view?.server.agent.connectionState;
  }

  // The bundle the install script would fetch, checked against the manifest as the script checks it.
  private async downloadBundle(work: string): Promise<string> {
    const manifest = await this.api.expect<{ bundleSha256: string }>(200, 'GET', '/agent/manifest');
    const res = await fetch(`${this.api.url}/agent/bundle.mjs`);
    const code = Buffer.from(await res.arrayBuffer());
    const sha256 = createHash('sha256').update(code).digest('hex');
    if (sha256 !== manifest.bundleSha256) throw new Error(`agent bundle sha256 ${sha256} ≠ manifest's`);
    const bundle = path.join(work, 'berth-agent.mjs');
    await writeFile(bundle, code);
    return bundle;
  }

  private async sweepEngineLeftovers(engineRoot: string): Promise<void> {
    // The shims' command lines name the engine's own temp folder, so nothing else matches.
    for (const pid of await processesOf(engineRoot)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    if (this.bridge === '') return;
    const present = await access(`/sys/class/net/${this.bridge}`).then(
      () => true,
      () => false,
    );
    if (present) await promisify(execFile)('ip', ['link', 'delete', this.bridge]);
  }

  private async removeContainersAndNetwork(socketPath: string): Promise<void> {
    if (!(await ping(socketPath))) return; // the engine is gone: see sweepEngineLeftovers
    const all = await this.docker.listContainers({ all: true });
    await Promise.all(all.map((c) => this.docker.getContainer(c.Id).remove({ force: true })));
    await this.docker
      .getNetwork(berthNetwork)
      .remove()
      .catch((error: unknown) => {
        // 404: the agent never made it.
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      });
  }
}
