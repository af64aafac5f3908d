import Dockerode from 'dockerode';
import { expect } from 'vitest';
import { type PrivateCaddy, startCaddy } from '../../helpers/caddy.js';
import { buildTestImages, type TestImages } from '../../helpers/images.js';
import { FaultRig } from '../agent/faults-rig.js';
import { eventually } from '../agent/processes.js';

/** A deployment's status as `GET /deployments/{id}` shows it. */
export interface DeploymentView {
  id: string;
  status: string;
  accessUrl: string | null;
  errorCode: string | null;
  errorMessage: string | null;
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

  override async start(): Promise<void> {
    this.caddy = await startCaddy();
    this.agentEnv = { BERTH_CADDY_ADMIN_URL: this.caddy.adminUrl };
    await super.start();
    this.docker = new Dockerode({ socketPath: this.dockerd!.socketPath });
    this.images = await buildTestImages(this.docker);
    await this.images.web('v1');
    await this.images.web('v2');
    this.projectId = (await this.api.expect<{ id: string }>(201, 'POST', '/projects', { name: 'Shop' })).id;
    this.environmentId = (
      await this.api.expect<{ id: string }>(201, 'POST', '/environments', {
        projectId: this.projectId,
        name: 'production',
        kind: 'production',
      })
    ).id;
    this.resourceId = (
      await this.api.expect<{ id: string }>(201, 'POST', '/resources', {
        projectId: this.projectId,
        environmentId: this.environmentId,
        name: 'web',
        source: { kind: 'docker-image', locator: 'berth-test/web:v1' },
        networkProfile: { internalPort: 8080 },
        healthCheck: { http: { path: '/healthz' }, intervalSeconds: 1, timeoutSeconds: 1, retries: 3 },
      })
    ).id;
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
  async setImage(locator: string): Promise<void> {
    await this.api.expect(200, 'POST', `/resources/${this.resourceId}/source`, {
      source: { kind: 'docker-image', locator },
    });
  }

  /** `POST /deployments` for the rig's resource; returns the new deployment's id. */
  async deploy(): Promise<string> {
    const body = {
      projectId: this.projectId,
      environmentId: this.environmentId,
      resourceId: this.resourceId,
      serverId: this.serverId,
    };
    return (await this.api.expect<{ id: string }>(201, 'POST', '/deployments', body)).id;
  }

  async deployment(id: string): Promise<DeploymentView> {
    return (await this.api.expect<{ deployment: DeploymentView }>(200, 'GET', `/deployments/${id}`)).deployment;
  }

  /** Waits until the deployment has ended; returns it. */
  async ended(id: string, timeoutMs = 60_000): Promise<DeploymentView> {
    return eventually(
      `deployment ${id} should end`,
      async () => {
        const view = await this.deployment(id);
        return ['succeeded', 'failed', 'canceled', 'interrupted', 'rolled-back'].includes(view.status)
          ? view
          : undefined;
      },
      timeoutMs,
      200,
    );
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
}
