import type Dockerode from 'dockerode';
import { containerCreateOptions } from '../../agent/workloads/create-options.js';
import { berthNetwork } from '../../agent/workloads/network.js';
import { testRuntimeSpec } from '../../test/helpers/images.js';
import { waitForAnswer } from './http-answer.js';

/** One floor sample, in ms. */
export interface FloorSample {
  /** `POST /containers/create` → created. */
  createMs: number;
  /** `POST /containers/{id}/start` → started. */
  startMs: number;
  /** Inspect for the published host port (the agent reads it back the same way). */
  inspectMs: number;
  /** From the end of the inspect until `GET /` answered with the image's version. */
  firstAnswerMs: number;
  /** Create → answered: the floor. */
  totalMs: number;
  /** Force-remove afterwards (not part of the total). */
  removeMs: number;
}

/**
 * The least a deployment of `image` can take on this engine: the same create body the agent sends
 * (`containerCreateOptions`: labels, `Init`, port 8080 published on 127.0.0.1 with an engine-picked host port, on
 * Berth's `berth` network), start, inspect for the port, then `GET /` every `pollEveryMs` until it answers
 * `version`. No image check, no health policy, no proxy, no control plane. The container is removed afterwards,
 * whatever happened.
 */
export async function measureFloor(
  docker: Dockerode,
  image: string,
  version: string,
  pollEveryMs: number,
): Promise<FloorSample> {
  const spec = testRuntimeSpec(image, { resourceSlug: 'floor' });
  const t0 = performance.now();
  const container = await docker.createContainer(containerCreateOptions(spec, { network: berthNetwork }));
  try {
    const t1 = performance.now();
    await container.start();
    const t2 = performance.now();
    const inspected = await container.inspect();
    const hostPort = inspected.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort;
    if (hostPort === undefined) throw new Error('port 8080 was not published');
    const t3 = performance.now();
    const { answeredAt } = await waitForAnswer(`http://127.0.0.1:${hostPort}/`, version, {
      everyMs: pollEveryMs,
      timeoutMs: 30_000,
    });
    const removeStarted = performance.now();
    await container.remove({ force: true });
    return {
      createMs: t1 - t0,
      startMs: t2 - t1,
      inspectMs: t3 - t2,
      firstAnswerMs: answeredAt - t3,
      totalMs: answeredAt - t0,
      removeMs: performance.now() - removeStarted,
    };
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined);
    throw error;
  }
}
