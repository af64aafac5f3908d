import type Dockerode from 'dockerode';
import { hasEngineStatus } from './engine-errors.js';
import { berthLabels } from './spec.js';

/** The Docker network Berth's containers join: a user-defined bridge, so ports publish on any engine setup. */
export const berthNetwork = 'berth';

/**
 * Creates Berth's bridge network when the engine lacks it (labelled as Berth's, like everything Berth makes).
 * Published ports need a bridge: an engine started with `--bridge=none` has no default one.
 */
export async function ensureBerthNetwork(docker: Dockerode, name = berthNetwork): Promise<void> {
  try {
    await docker.getNetwork(name).inspect();
    return;
  } catch (error) {
    if (!hasEngineStatus(error, 404)) throw error;
  }
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [berthLabels.managed]: 'true' },
    });
  } catch (error) {
    // Created meanwhile by another call: fine.
    if (!hasEngineStatus(error, 409)) throw error;
  }
}
