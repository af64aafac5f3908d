import Dockerode from 'dockerode';
import pg from 'pg';
import { expect } from 'vitest';
import { type PrivateCaddy, startCaddy } from '../../helpers/caddy.js';
import {
  createWebResource,
  type DeploymentEventView as DeploymentEventBase,
  type DeploymentView,
  deploy,
  deployment,
  deploymentEvents,
  ended,
  healthzCheck,
  setImage,
} from '../../helpers/deploy-api.js';
import { buildTestImages, type TestImages } from '../../helpers/images.js';
import { FaultRig, seconds } from '../agent/faults-rig.js';
import { eventually } from '../agent/processes.js';

export type { DeploymentView };

/** One envelope of `GET /deployments/{id}/events`, as the interruption tests read it. */
export interface DeploymentEventView extends DeploymentEventBase {
  status: string;
  summary: string;
}

/**
 * The fault rig (real control plane, agent bundle, private dockerd) plus a private Caddy the agent programs and the
 * busybox test images, with one project, environment and resource to deploy.
 */
export class DeployRig extends FaultRig {
  caddy?: PrivateCaddy;
  docker!: Dockerode;
  images!: TestImages;
  projectId = '';
  environmentId = '';
  resourceId = '';
  /** More agent settings on top of the rig's own (e.g. the edge ports), set before `start()`. */
  extraAgentEnv: Record<string, string> = {};
  /** More control-plane settings for every boot (e.g. the telemetry interval), set before `start()`. */
  extraControlPlaneEnv: Record<string, string> = {};
  /** Settings added to the control plane from its next boot on (see {@link restartControlPlane}). */
  private cpOverrides: Record<string, string> = {};

  override async start(): Promise<void> {
    this.caddy = await startCaddy();
    this.agentEnv = {
      BERTH_CADDY_ADMIN_URL: this.caddy.adminUrl,
      BERTH_RECONCILE_SECONDS: '2',
      ...this.extraAgentEnv,
    };
    await super.start();
    this.docker = new Dockerode({ socketPath: this.dockerd!.socketPath });
    this.images = await buildTestImages(this.docker);
    await this.images.web('v1');
    await this.images.web('v2');
    Object.assign(
      this,
      await createWebResource(this.api, { projectName: 'Shop', image: 'berth-test/web:v1', healthIntervalSeconds: 1 }),
    );
  }

  override async stop(): Promise<void> {
    // The network's bridge would outlive the private engine: remove it (and the containers on it) first.
    if (this.docker) {
      const all = await this.docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(
        all.map((c) =>
          this.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
      await this.docker
        .getNetwork('berth')
        .remove()
        .catch(() => undefined);
    }
    await super.stop();
    await this.caddy?.stop();
  }

  /** Points the resource at another image. */
  setImage(locator: string): Promise<void> {
    return setImage(this.api, this.resourceId, locator);
  }

  /** `POST /deployments` for the rig's resource; returns the new deployment's id. */
  deploy(): Promise<string> {
    return deploy(this.api, this);
  }

  deployment(id: string): Promise<DeploymentView> {
    return deployment(this.api, id);
  }

  /** Waits until the deployment has ended (reads failing meanwhile, e.g. during a restart, are retried); returns it. */
  ended(id: string, timeoutMs = 60_000): Promise<DeploymentView> {
    return ended(this.api, id, { timeoutMs, everyMs: 200, retryErrors: true });
  }

  /** Berth's containers on the engine, by deployment id. */
  async containers(): Promise<Array<{ deploymentId: string; state: string }>> {
    const list = await this.docker.listContainers({ all: true, filters: { label: ['berth.managed=true'] } });
    return list.map((c) => ({ deploymentId: c.Labels['berth.deployment'] ?? '', state: c.State }));
  }

  /** The body the app answers at `url`. */
  async answer(url: string): Promise<string> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    return (await res.text()).trim();
  }

  override async bootControlPlane(): Promise<void> {
    // The fault rig keeps its settings private; the overrides go on top of them for this boot and the next ones.
    Object.assign(Reflect.get(this, 'cpEnv') as Record<string, string>, this.extraControlPlaneEnv, this.cpOverrides);
    await super.bootControlPlane();
  }

  /**
   * Stops the control plane gracefully (SIGTERM, exit code 0) and starts it again on the same data folder, database
   * and ports; `overrides` replace the settings added by an earlier restart (`{}` goes back to the rig's own).
   */
  async restartControlPlane(overrides: Record<string, string> = {}): Promise<void> {
    const stopping = Date.now();
    expect(await this.cp!.stop('SIGTERM')).toBe(0);
    const stopped = seconds(stopping);
    const booting = Date.now();
    const env = Reflect.get(this, 'cpEnv') as Record<string, string>;
    for (const key of Object.keys(this.cpOverrides)) delete env[key];
    this.cpOverrides = overrides;
    await this.bootControlPlane();
    this.timings[`control plane restart ${this.cpRuns.length - 1}`] =
      `stopped in ${stopped}, then ready in ${seconds(booting)}`;
  }

  /** Replaces the resource's health policy (an HTTP check of `/healthz`). */
  async setHealthCheck(policy: { retries: number; startPeriodSeconds?: number }): Promise<void> {
    await this.api.expect(200, 'POST', `/resources/${this.resourceId}/health-policy`, {
      healthCheck: healthzCheck(1, policy),
    });
  }

  /** Every event of a deployment, oldest first. */
  deploymentEvents(id: string): Promise<DeploymentEventView[]> {
    return deploymentEvents<DeploymentEventView>(this.api, id);
  }

  /** The `deployment.apply` command of a deployment, as `agent_commands` holds it (the API does not show it). */
  async applyCommand(id: string): Promise<{ id: string; state: string; sendCount: number; errorCode: string | null }> {
    const client = new pg.Client({ connectionString: this.db!.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; state: string; send_count: number; error_code: string | null }>(
        'select c.id, c.state, c.send_count, c.error_code from deployments d join agent_commands c on c.id = d.command_id where d.id = $1',
        [id],
      );
      expect(rows, `the command of ${id}`).toHaveLength(1);
      const [row] = rows;
      return { id: row!.id, state: row!.state, sendCount: row!.send_count, errorCode: row!.error_code };
    } finally {
      await client.end();
    }
  }

  /** Waits until the control plane has recorded the deployment's event `eventType`. */
  async recorded(id: string, eventType: string, timeoutMs = 30_000): Promise<DeploymentEventView> {
    return eventually(
      `${id} records ${eventType}`,
      async () => (await this.deploymentEvents(id)).find((e) => e.eventType === eventType),
      timeoutMs,
      100,
    );
  }

  /** Waits until the deployment's own container is running on the engine. */
  async containerRuns(id: string, timeoutMs = 30_000): Promise<void> {
    await eventually(
      `the container of ${id} runs`,
      async () => (await this.containers()).some((c) => c.deploymentId === id && c.state === 'running') || undefined,
      timeoutMs,
      100,
    );
  }
}
