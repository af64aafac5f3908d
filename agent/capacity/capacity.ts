import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import nodePath from 'node:path';
import type Dockerode from 'dockerode';
import si from 'systeminformation';
import type {
  CapacityInspectResult,
  CapacityPrunePayload,
  CapacityPruneResult,
  CapacityWarning,
} from '../../shared/capacity-command.js';
import type { Logger } from '../../shared/logger.js';
import { readDisks } from '../telemetry/host-sampler.js';
import { berthLabels } from '../workloads/spec.js';
import { type EngineContainer, type EngineImage, planPrune } from './prune-plan.js';
import type { UsedImageStore } from './used-images.js';

/** What the capacity commands use. */
export interface CapacityDeps {
  docker: Dockerode;
  stateDir: string;
  used: UsedImageStore;
  isDesired(deploymentId: string): boolean;
  log: Logger;
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

/** Bytes under `dir`, walking it (the agent's state folder is small). */
async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = nodePath.join(dir, entry.name);
    if (entry.isDirectory()) total += await folderSize(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}

const neverStarted = '0001-01-01T00:00:00Z';

/** Every container and image on the engine, in the planner's terms. */
async function readEngine(docker: Dockerode) {
  const [listed, images, df] = await Promise.all([
    docker.listContainers({ all: true, size: true }),
    docker.listImages(),
    docker.df() as Promise<DockerDf>,
  ]);
  const containers: EngineContainer[] = await Promise.all(
    listed.map(async (c) => {
      // FinishedAt is only in the inspect answer; asked only of stopped Berth containers, the ones a prune may take.
      const berths = c.Labels?.[berthLabels.managed] === 'true';
      const finished =
        berths && c.State !== 'running'
          ? await docker
              .getContainer(c.Id)
              .inspect()
              .then((i) => i.State.FinishedAt)
              .catch(() => undefined)
          : undefined;
      return {
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        imageId: c.ImageID,
        labels: c.Labels ?? {},
        running: c.State === 'running',
        state: c.State,
        createdAt: new Date(c.Created * 1000),
        finishedAt: finished && finished !== neverStarted ? new Date(finished) : null,
        writableBytes: (c as { SizeRw?: number }).SizeRw ?? 0,
      };
    }),
  );
  const engineImages: EngineImage[] = images.map((i) => ({
    id: i.Id,
    tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    size: i.Size,
    createdAt: new Date(i.Created * 1000),
  }));
  return { containers, images: engineImages, df };
}

function diskWarnings(disks: CapacityInspectResult['disk'], inodes: CapacityInspectResult['inodes']) {
  const warnings: CapacityWarning[] = [];
  for (const d of disks) {
    if (d.usePercent >= 98) {
      warnings.push({ code: 'full-disk', message: `${d.mount} is ${d.usePercent}% full.`, ...d, resource: 'disk' });
    } else if (d.usePercent >= 90) {
      warnings.push({
        code: 'high-disk-usage',
        message: `${d.mount} is ${d.usePercent}% full.`,
        ...d,
        resource: 'disk',
      });
    }
  }
  for (const i of inodes) {
    if (i.usePercent >= 90) {
      warnings.push({
        code: 'high-inode-usage',
        message: `${i.mount} has used ${i.usePercent}% of its inodes.`,
        path: i.path,
        mount: i.mount,
        resource: 'inode',
      });
    }
  }
  return warnings.map(
    ({ code, message, path, mount, resource }): CapacityWarning => ({
      code,
      message,
      ...(path === undefined ? {} : { path }),
      ...(mount === undefined ? {} : { mount }),
      ...(resource === undefined ? {} : { resource }),
    }),
  );
}

const dockerUnavailable = (error: unknown): CapacityWarning => ({
  code: 'docker-unavailable',
  message: `The Docker engine did not answer: ${error instanceof Error ? error.message : String(error)}`,
  resource: 'docker',
});

/** `capacity.inspect` and `capacity.prune` on this server's engine. */
export function createCapacity(deps: CapacityDeps) {
  const { docker, used, log } = deps;

  async function plan(payload: CapacityPrunePayload) {
    const engine = await readEngine(docker);
    // Images of Berth containers are recorded too: after the containers go, the record is what says Berth used them.
    const recorded = await used.all();
    return {
      engine,
      plan: planPrune({
        containers: engine.containers,
        images: engine.images,
        buildCacheCount: (engine.df.BuildCache ?? []).length,
        used: recorded,
        payload,
        isDesired: deps.isDesired,
      }),
    };
  }

  return {
    async inspect(payload: Pick<CapacityPrunePayload, 'protectedDeploymentIds' | 'protectedImages'>) {
      const [fsDisks, mem] = await Promise.all([readDisks(), si.mem()]);
      const disk = fsDisks.map((d) => ({
        path: d.mount,
        mount: d.filesystem,
        size: d.totalBytes,
        used: d.usedBytes,
        available: d.availableBytes,
        usePercent: percent(d.usedBytes, d.usedBytes + d.availableBytes),
      }));
      const inodes = fsDisks
        .filter((d) => d.inodesTotal > 0)
        .map((d) => ({
          path: d.mount,
          mount: d.filesystem,
          used: d.inodesUsed,
          free: d.inodesAvailable,
          usePercent: percent(d.inodesUsed, d.inodesTotal),
        }));
      const warnings = diskWarnings(disk, inodes);
      let dockerPart: CapacityInspectResult['docker'] = null;
      let containers: CapacityInspectResult['containers'] = [];
      let estimate = { stoppedContainersSize: 0, unusedImagesSize: 0 };
      try {
        const { engine, plan: dry } = await plan({
          before: new Date().toISOString(),
          categories: ['stopped-containers', 'unused-images'],
          dryRun: true,
          ...payload,
        });
        const df = engine.df;
        const buildCache = df.BuildCache ?? [];
        dockerPart = {
          imagesSize: df.LayersSize ?? 0,
          reclaimableImagesSize: (df.Images ?? [])
            .filter((i) => (i.Containers ?? 0) === 0)
            .reduce((sum, i) => sum + (i.Size ?? 0) - Math.max(0, i.SharedSize ?? 0), 0),
          buildCacheSize: buildCache.reduce((sum, b) => sum + (b.Size ?? 0), 0),
          reclaimableBuildCacheSize: buildCache.filter((b) => !b.InUse).reduce((sum, b) => sum + (b.Size ?? 0), 0),
          containersSize: (df.Containers ?? []).reduce((sum, c) => sum + (c.SizeRw ?? 0), 0),
          volumesSize: (df.Volumes ?? []).reduce((sum, v) => sum + Math.max(0, v.UsageData?.Size ?? 0), 0),
        };
        containers = engine.containers
          .filter((c) => c.labels[berthLabels.managed] === 'true')
          .map((c) => ({
            id: c.id,
            name: c.name,
            running: c.running,
            status: c.state,
            writableBytes: c.writableBytes,
            deploymentId: c.labels[berthLabels.deployment] ?? '',
            projectId: c.labels[berthLabels.project] ?? '',
            environmentId: c.labels[berthLabels.environment] ?? '',
            resourceId: c.labels[berthLabels.resource] ?? '',
            image: engine.images.find((i) => i.id === c.imageId)?.tags[0] ?? c.imageId,
          }));
        const matched = (category: string) =>
          dry.candidates
            .filter((c) => c.category === category && c.action === 'matched')
            .reduce((sum, c) => sum + c.size, 0);
        estimate = { stoppedContainersSize: matched('stopped-containers'), unusedImagesSize: matched('unused-images') };
      } catch (error) {
        warnings.push(dockerUnavailable(error));
      }
      const stateSize = await folderSize(deps.stateDir).then(
        (size) => ({ size, detectable: true }),
        () => ({ size: 0, detectable: false }),
      );
      const [one, five, fifteen] = os.loadavg() as [number, number, number];
      const result: CapacityInspectResult = {
        inspectedAt: new Date().toISOString(),
        disk,
        inodes,
        docker: dockerPart,
        memory: {
          total: mem.total,
          available: mem.available,
          used: mem.total - mem.available,
          usePercent: percent(mem.total - mem.available, mem.total),
        },
        cpu: {
          logicalCores: os.availableParallelism(),
          loadAverage1m: one,
          loadAverage5m: five,
          loadAverage15m: fifteen,
        },
        stateRoot: { path: deps.stateDir, ...stateSize },
        containers,
        estimate,
        warnings,
        partial: dockerPart === null,
      };
      return result;
    },

    async prune(payload: CapacityPrunePayload): Promise<CapacityPruneResult> {
      const { engine, plan: planned } = await plan(payload);
      const tagsOf = new Map(engine.images.map((i) => [i.id, i.tags]));
      let reclaimedBytes = 0;
      const removedImages: string[] = [];
      // Containers first: an image is only free once the stopped containers made from it are gone.
      const ordered = [
        ...planned.candidates.filter((c) => c.kind === 'container'),
        ...planned.candidates.filter((c) => c.kind === 'image'),
      ];
      const candidates: CapacityPruneResult['candidates'] = [];
      for (const candidate of ordered) {
        const { kind, ...shown } = candidate;
        if (payload.dryRun || candidate.action !== 'matched') {
          candidates.push(shown);
          continue;
        }
        try {
          if (kind === 'container') await docker.getContainer(candidate.id).remove({ v: false });
          else {
            // An image under several tags is refused by id without force: untag each, the last one deletes it.
            const tags = tagsOf.get(candidate.id) ?? [];
            if (tags.length === 0) await docker.getImage(candidate.id).remove();
            for (const tag of tags) await docker.getImage(tag).remove();
            removedImages.push(candidate.id);
          }
          reclaimedBytes += candidate.size;
          candidates.push({ ...shown, action: 'pruned' as const });
        } catch (error) {
          log.warn({ err: error, id: candidate.id, target: candidate.target }, 'prune could not remove');
          candidates.push({ ...shown, action: 'skipped' as const, skippedReason: 'remove-failed' as const });
        }
      }
      if (removedImages.length > 0) await used.forget(removedImages);
      return {
        prunedAt: new Date().toISOString(),
        inspectedCount: planned.inspectedCount,
        excludedCount: planned.excludedCount,
        reclaimedBytes,
        candidates,
        warnings: [],
      };
    },
  };
}
export type Capacity = ReturnType<typeof createCapacity>;

interface DockerDf {
  LayersSize?: number;
  Images?: Array<{ Size?: number; SharedSize?: number; Containers?: number }>;
  Containers?: Array<{ SizeRw?: number }>;
  Volumes?: Array<{ UsageData?: { Size?: number } }>;
  BuildCache?: Array<{ Size?: number; InUse?: boolean }>;
}
