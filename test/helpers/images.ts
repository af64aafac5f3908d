import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Dockerode from 'dockerode';
import type { ContainerSpec, HealthPolicy } from '../../agent/workloads/spec.js';
import { newId } from '../../shared/ids.js';
import { type PrivateDockerd, startDockerd } from './dockerd.js';

/** Debian's busybox-static (`apt-get install busybox-static`): one static binary, so images need no base layer. */
export const staticBusybox = '/bin/busybox';

/** Images for runtime tests, built `FROM scratch` with the static busybox (no registry is reachable here). */
export interface TestImages {
  /**
   * `berth-test/web:<version>`: busybox httpd on port 8080 (its CMD, so a spec without a command runs it),
   * answering `GET /` with the version string and `GET /healthz` with 200 `ok`.
   */
  web(version: string): Promise<string>;
  /** `berth-test/never-healthy:1`: exposes 8080 but only sleeps, so nothing ever answers there. */
  neverHealthy: string;
  /** `berth-test/exits:1`: prints {@link exitsAtOnceMessage} to stderr and exits with code 3. */
  exitsAtOnce: string;
}

/** The stderr line of the `exitsAtOnce` image. */
export const exitsAtOnceMessage = 'fatal: DATABASE_URL is not set';

/**
 * Builds (or finds, when the tag is already there) the test images on `docker`. `neverHealthy` and
 * `exitsAtOnce` are ready on return; each `web` version is built on its first request. About 1 s per image.
 */
export async function buildTestImages(docker: Dockerode): Promise<TestImages> {
  const webVersions = new Map<string, Promise<string>>();
  const [neverHealthy, exitsAtOnce] = await Promise.all([
    ensureImage(docker, 'berth-test/never-healthy:1', {
      cmd: ['/bin/busybox', 'sleep', '3600'],
    }),
    ensureImage(docker, 'berth-test/exits:1', {
      cmd: ['/bin/sh', '-c', `echo starting; echo '${exitsAtOnceMessage}' >&2; exit 3`],
    }),
  ]);
  return {
    neverHealthy,
    exitsAtOnce,
    web(version) {
      let built = webVersions.get(version);
      if (built === undefined) {
        built = ensureImage(docker, `berth-test/web:${version}`, {
          cmd: ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www'],
          www: { 'index.html': version, healthz: 'ok\n' },
        });
        webVersions.set(version, built);
      }
      return built;
    },
  };
}

/** A private engine ready for runtime tests; see {@link startRuntimeTestEngine}. */
export interface RuntimeTestEngine {
  dockerd: PrivateDockerd;
  docker: Dockerode;
  /** A bridge network on which published ports work; pass it to `createDockerContainers`. */
  network: string;
  images: TestImages;
  /** Removes every container and the network (its bridge would outlive the engine), then stops the engine. */
  stop(): Promise<void>;
}

/**
 * Starts a private dockerd (test/helpers/dockerd.ts), adds a bridge network and builds the test images.
 * The private engine runs with `--bridge=none`, and a container on no network gets no published ports, so
 * containers must join this network for 127.0.0.1 ports to reach them; `--iptables=false` still holds: the
 * engine's userland proxy carries the loopback traffic.
 */
export async function startRuntimeTestEngine(): Promise<RuntimeTestEngine> {
  const dockerd = await startDockerd();
  const docker = new Dockerode({ socketPath: dockerd.socketPath });
  const network = 'berth-test';
  try {
    await docker.createNetwork({ Name: network, Driver: 'bridge' });
    const images = await buildTestImages(docker);
    return { dockerd, docker, network, images, stop: () => stopEngine(dockerd, docker, network) };
  } catch (error) {
    await stopEngine(dockerd, docker, network).catch(() => undefined);
    throw error;
  }
}

async function stopEngine(dockerd: PrivateDockerd, docker: Dockerode, network: string): Promise<void> {
  try {
    const containers = await docker.listContainers({ all: true });
    await Promise.all(
      containers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
  } finally {
    await dockerd.stop();
  }
}

/** An HTTP check of `GET /healthz` → 200 "ok", once a second, 2 s timeout, 3 retries, no start period. */
export function httpHealth(overrides: Partial<HealthPolicy> = {}): HealthPolicy {
  return {
    enabled: true,
    type: 'http',
    intervalSeconds: 1,
    timeoutSeconds: 2,
    retries: 3,
    startPeriodSeconds: 0,
    http: {
      method: 'GET',
      scheme: 'http',
      host: null,
      port: null,
      path: '/healthz',
      expectedStatusCode: 200,
      expectedResponseText: 'ok',
    },
    tcp: null,
    ...overrides,
  };
}

/** A spec for `image` with fresh ids, internal port 8080, restart policy `no` and {@link httpHealth}. */
export function testRuntimeSpec(image: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    deploymentId: newId('deployment'),
    resourceId: newId('resource'),
    resourceSlug: 'web',
    environmentId: newId('environment'),
    projectId: newId('project'),
    image,
    env: {},
    internalPort: 8080,
    command: null,
    arguments: null,
    startCommand: null,
    workingDirectory: null,
    cpuLimit: null,
    memoryLimitMb: null,
    restartPolicy: 'no',
    health: httpHealth(),
    ...overrides,
  };
}

/** How a test image is built: its command, and files under /www. */
export interface ImageRecipe {
  cmd: string[];
  /** Files under /www. */
  www?: Record<string, string>;
}

/** Builds `tag` from `recipe` (FROM scratch with the static busybox) unless the engine has it; returns the tag. */
export async function ensureImage(docker: Dockerode, tag: string, recipe: ImageRecipe): Promise<string> {
  const exists = await docker
    .getImage(tag)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (!exists) await build(docker, tag, recipe);
  return tag;
}

async function build(docker: Dockerode, tag: string, recipe: ImageRecipe): Promise<void> {
  const context = await mkdtemp('/tmp/berth-image-');
  try {
    await mkdir(path.join(context, 'bin'));
    await copyFile(staticBusybox, path.join(context, 'bin', 'busybox'));
    // A symlink in the context becomes one in the image, so `/bin/sh -c` works without a RUN step.
    await symlink('busybox', path.join(context, 'bin', 'sh'));
    const src = ['Dockerfile', 'bin'];
    if (recipe.www !== undefined) {
      await mkdir(path.join(context, 'www'));
      for (const [name, body] of Object.entries(recipe.www)) await writeFile(path.join(context, 'www', name), body);
      src.push('www');
    }
    const dockerfile = [
      'FROM scratch',
      'COPY bin /bin',
      ...(recipe.www === undefined ? [] : ['COPY www /www']),
      'EXPOSE 8080',
      'LABEL berth-test=1',
      `CMD ${JSON.stringify(recipe.cmd)}`,
    ];
    await writeFile(path.join(context, 'Dockerfile'), `${dockerfile.join('\n')}\n`);
    const stream = await docker.buildImage({ context, src }, { t: tag });
    await new Promise<void>((resolve, reject) => {
      let failure: string | undefined;
      docker.modem.followProgress(
        stream,
        (error: Error | null) => {
          if (error) reject(error);
          else if (failure !== undefined) reject(new Error(`building ${tag} failed: ${failure}`));
          else resolve();
        },
        (event: { error?: string }) => {
          if (event.error !== undefined) failure = event.error;
        },
      );
    });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
