import type { BenchDeployRig, DeploymentEventView } from './deploy-rig.js';
import { waitForAnswer } from './http-answer.js';

/** The events a deployment's phases are measured between, in the order they happen. */
export const phaseEvents = [
  'deployment-requested',
  'deployment-started',
  'image-ready',
  'container-started',
  'health-check-passed',
  'traffic-switched',
  'deployment-succeeded',
] as const;

/** One measured deployment. */
export interface DeploySample {
  deploymentId: string;
  version: string;
  /** `POST /deployments` sent → the access URL answered with the new version (ms, timed here). */
  latencyMs: number;
  /** The `POST /deployments` round trip alone (ms). */
  postMs: number;
  /** Requests the access URL got until the new version answered. */
  polls: number;
  /** Health checks run (failed attempts + the passing one). */
  healthChecks: number;
  /**
   * Each phase event's `emittedAt` minus the moment the request was sent (ms). Agent events carry the agent's
   * clock, control-plane events the control plane's: all on this machine, so one clock, at ms resolution.
   */
  at: Partial<Record<(typeof phaseEvents)[number], number>>;
}

/**
 * Points the resource at `berth-test/web:<version>` (not timed), then times `POST /deployments` until `accessUrl`
 * answers `version`, polling every `pollEveryMs`; then waits for the deployment to end (the old container's drain
 * and removal come after the switch) and reads its events. Throws when the deployment does not succeed.
 */
export async function measureDeploy(
  rig: BenchDeployRig,
  version: string,
  accessUrl: string,
  pollEveryMs: number,
): Promise<DeploySample> {
  await rig.setImage(`berth-test/web:${version}`);
  const sentAtWall = Date.now();
  const sentAt = performance.now();
  const deploymentId = await rig.deploy();
  const postMs = performance.now() - sentAt;
  const answered = await waitForAnswer(accessUrl, version, { everyMs: pollEveryMs, timeoutMs: 60_000 }).catch(
    async (error: unknown) => {
      const view = await rig.deployment(deploymentId).catch(() => undefined);
      throw new Error(`deployment ${deploymentId} (${JSON.stringify(view)}): ${(error as Error).message}`);
    },
  );
  const view = await rig.ended(deploymentId);
  if (view.status !== 'succeeded') {
    throw new Error(`deployment ${deploymentId} ended ${view.status}: ${view.errorCode} ${view.errorMessage}`);
  }
  const events = await rig.events(deploymentId);
  return {
    deploymentId,
    version,
    latencyMs: answered.answeredAt - sentAt,
    postMs,
    polls: answered.requests,
    healthChecks: events.filter((e) => e.eventType === 'health-check-attempt' || e.eventType === 'health-check-passed')
      .length,
    at: offsets(events, sentAtWall),
  };
}

function offsets(events: DeploymentEventView[], sentAtWall: number): DeploySample['at'] {
  const at: DeploySample['at'] = {};
  for (const type of phaseEvents) {
    const first = events.find((e) => e.eventType === type);
    if (first !== undefined) at[type] = Date.parse(first.emittedAt) - sentAtWall;
  }
  return at;
}
