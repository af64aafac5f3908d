import { Readable } from 'node:stream';
import Dockerode from 'dockerode';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { ContainerError, createDockerContainers } from './containers.js';

/** A client whose engine lacks every image and answers a pull with these progress events. */
function engineAnswering(events: object[]): Dockerode {
  const docker = new Dockerode({ socketPath: '/nonexistent/docker.sock' });
  vi.spyOn(docker, 'getImage').mockReturnValue({
    inspect: () => Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 })),
  } as unknown as Dockerode.Image);
  vi.spyOn(docker, 'pull').mockResolvedValue(Readable.from(events.map((e) => `${JSON.stringify(e)}\r\n`)));
  return docker;
}

const runtimeOver = (docker: Dockerode) =>
  createDockerContainers({ docker, log: createLogger({ level: 'silent', name: 'test' }) });

describe('ensureImage pulling', () => {
  it('reports one progress line per layer and stage, not every byte count', async () => {
    const docker = engineAnswering([
      { status: 'Pulling from team/app', id: '1.0' },
      { status: 'Downloading', id: 'a1', progressDetail: { current: 1 } },
      { status: 'Downloading', id: 'a1', progressDetail: { current: 2 } },
      { status: 'Pull complete', id: 'a1' },
      { status: 'Digest: sha256:abc' },
      { status: 'Status: Downloaded newer image for team/app:1.0' },
    ]);
    const lines: string[] = [];

    await expect(runtimeOver(docker).ensureImage('team/app:1.0', (line) => lines.push(line))).resolves.toEqual({
      pulled: true,
    });
    expect(lines).toEqual([
      '1.0: Pulling from team/app',
      'a1: Downloading',
      'a1: Pull complete',
      'Digest: sha256:abc',
      'Status: Downloaded newer image for team/app:1.0',
    ]);
  });

  it('fails with image_pull_failed and the engine reason when the pull breaks midway', async () => {
    const docker = engineAnswering([
      { status: 'Downloading', id: 'a1' },
      { error: 'unexpected EOF', errorDetail: { message: 'unexpected EOF' } },
    ]);

    const error = await runtimeOver(docker)
      .ensureImage('team/app:1.0', () => undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerError);
    expect(error).toMatchObject({ code: 'image_pull_failed', message: 'pulling team/app:1.0: unexpected EOF' });
  });

  it('fails with image_not_found when the engine answers the pull with 404', async () => {
    const docker = engineAnswering([]);
    vi.spyOn(docker, 'pull').mockRejectedValue(
      Object.assign(new Error('(HTTP code 404) unexpected - manifest unknown '), { statusCode: 404 }),
    );

    await expect(runtimeOver(docker).ensureImage('team/app:9', () => undefined)).rejects.toMatchObject({
      code: 'image_not_found',
      message: 'pulling team/app:9: manifest unknown',
    });
  });
});
