import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The deployment calls that the e2e deploy rig (test/e2e/deployments/deploy-rig.ts) and the deploy latency bench
 * (bench/lib/deploy-rig.ts) both make. Nothing here imports vitest: each caller passes its own API client, whose
 * `expect` decides how a wrong status fails (a vitest assertion in the tests, a plain Error in the bench).
 */

/** What these calls need of an API client: a call that checks the answer's status and returns its body. */
export interface StatusCheckedApi {
  expect<T = Record<string, unknown>>(status: number, method: string, route: string, body?: unknown): Promise<T>;
}

/** A deployment as `GET /deployments/{id}` shows it. */
export interface DeploymentView {
  id: string;
  status: string;
  /** Where users reach it: through the edge proxy when a route serves it, else `directUrl`. */
  accessUrl: string | null;
  /** Where the container answers directly (the agent's loopback port). */
  directUrl: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** One event of `GET /deployments/{id}/events`: the fields every reader uses. */
export interface DeploymentEventView {
  sequence: number;
  eventType: string;
  emittedAt: string;
}

/** Statuses after which a deployment no longer changes. */
export const terminalStatuses: readonly string[] = ['succeeded', 'failed', 'canceled', 'interrupted', 'rolled-back'];

/** The project, environment and resource a rig deploys, and the server it deploys to. */
export interface DeployTarget {
  projectId: string;
  environmentId: string;
  resourceId: string;
  serverId: string;
}

/** The resource's health policy: an HTTP check of `GET /healthz` every `intervalSeconds`, 1 s timeout, 3 retries. */
export function healthzCheck(
  intervalSeconds: number,
  overrides: { retries?: number; startPeriodSeconds?: number } = {},
) {
  return { http: { path: '/healthz' }, intervalSeconds, timeoutSeconds: 1, retries: 3, ...overrides };
}

/**
 * Creates the project `projectName`, its `production` environment and in it the resource `web`: `image` on
 * internal port 8080 with {@link healthzCheck} every `healthIntervalSeconds`. Returns their ids.
 */
export async function createWebResource(
  api: StatusCheckedApi,
  options: { projectName: string; image: string; healthIntervalSeconds: number },
): Promise<Omit<DeployTarget, 'serverId'>> {
  const projectId = (await api.expect<{ id: string }>(201, 'POST', '/projects', { name: options.projectName })).id;
  const environmentId = (
    await api.expect<{ id: string }>(201, 'POST', '/environments', {
      projectId,
      name: 'production',
      kind: 'production',
    })
  ).id;
  const resourceId = (
    await api.expect<{ id: string }>(201, 'POST', '/resources', {
      projectId,
      environmentId,
      name: 'web',
      source: { kind: 'docker-image', locator: options.image },
      networkProfile: { internalPort: 8080 },
      healthCheck: healthzCheck(options.healthIntervalSeconds),
    })
  ).id;
  return { projectId, environmentId, resourceId };
}

/** Points the resource at another image (the next deployment's snapshot takes it). */
export async function setImage(api: StatusCheckedApi, resourceId: string, locator: string): Promise<void> {
  await api.expect(200, 'POST', `/resources/${resourceId}/source`, { source: { kind: 'docker-image', locator } });
}

/** `POST /deployments` for the target's resource on its server; returns the new deployment's id. */
export async function deploy(api: StatusCheckedApi, target: DeployTarget): Promise<string> {
  const { projectId, environmentId, resourceId, serverId } = target;
  const body = { projectId, environmentId, resourceId, serverId };
  return (await api.expect<{ id: string }>(201, 'POST', '/deployments', body)).id;
}

/** `GET /deployments/{id}`. */
export async function deployment(api: StatusCheckedApi, id: string): Promise<DeploymentView> {
  return (await api.expect<{ deployment: DeploymentView }>(200, 'GET', `/deployments/${id}`)).deployment;
}

/**
 * Polls the deployment every `everyMs` until its status is terminal and returns it; throws after `timeoutMs`. A
 * failed read throws at once, unless `retryErrors` (a control plane that is restarting refuses connections, say).
 */
export async function ended(
  api: StatusCheckedApi,
  id: string,
  options: { timeoutMs?: number; everyMs?: number; retryErrors?: boolean } = {},
): Promise<DeploymentView> {
  const { timeoutMs = 60_000, everyMs = 100, retryErrors = false } = options;
  let last: string;
  for (const end = Date.now() + timeoutMs; ; await sleep(everyMs)) {
    try {
      const view = await deployment(api, id);
      if (terminalStatuses.includes(view.status)) return view;
      last = view.status;
    } catch (error) {
      if (!retryErrors) throw error;
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > end) throw new Error(`deployment ${id} has not ended within ${timeoutMs} ms (last: ${last})`);
  }
}

/** Every event of a deployment, oldest first (`E`: the fields the caller reads). */
export async function deploymentEvents<E extends DeploymentEventView = DeploymentEventView>(
  api: StatusCheckedApi,
  id: string,
): Promise<E[]> {
  const list = await api.expect<{ envelopes: Array<{ event: E }> }>(
    200,
    'GET',
    `/deployments/${id}/events?historyLimit=200`,
  );
  return list.envelopes.map((envelope) => envelope.event);
}
