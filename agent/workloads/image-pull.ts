import type Dockerode from 'dockerode';
import { hasEngineStatus } from './engine-errors.js';

/** True when the engine already has `image` (by tag or digest). */
export async function imageExists(docker: Dockerode, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (error) {
    if (hasEngineStatus(error, 404)) return false;
    throw error;
  }
}

/** A pull the engine started but reported as failed inside its progress stream (HTTP 200, then an error). */
export class PullStreamError extends Error {
  override readonly name = 'PullStreamError';
}

interface PullEvent {
  id?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Pulls `image` and resolves when the engine has it. `onProgress` gets one line per layer and stage
 * (`a1b2c3: Downloading`), not every byte-count update. Rejects with the engine's error when the pull cannot
 * start (404: unknown repository or tag), with a {@link PullStreamError} when it fails midway, and with an
 * AbortError when `signal` fires.
 */
export async function pullImage(
  docker: Dockerode,
  image: string,
  onProgress: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const stream = await docker.pull(image, signal === undefined ? {} : { abortSignal: signal });
  const lastStage = new Map<string, string>();
  let failure: string | null = null;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => {
        if (error) reject(error);
        else if (failure !== null) reject(new PullStreamError(failure));
        else if (signal?.aborted) reject(signal.reason);
        else resolve();
      },
      (event: PullEvent) => {
        if (event.error !== undefined) {
          failure = event.errorDetail?.message ?? event.error;
          return;
        }
        if (event.status === undefined) return;
        // Byte counters repeat the same stage many times a second; one line per stage and layer is enough.
        const key = event.id ?? '';
        if (lastStage.get(key) === event.status) return;
        lastStage.set(key, event.status);
        onProgress(event.id === undefined ? event.status : `${event.id}: ${event.status}`);
      },
    );
  });
}
