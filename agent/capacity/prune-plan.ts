import type { CapacityPrunePayload, PruneCandidate } from '../../shared/capacity-command.js';
import { berthLabels } from '../workloads/spec.js';
import type { UsedImage } from './used-images.js';

/** A container as the engine lists it (every container, Berth's or not). */
export interface EngineContainer {
  id: string;
  name: string;
  imageId: string;
  labels: Record<string, string>;
  running: boolean;
  state: string;
  createdAt: Date;
  /** When it stopped; null when it never ran or Docker does not say. */
  finishedAt: Date | null;
  writableBytes: number;
}

/** An image as the engine lists it. */
export interface EngineImage {
  id: string;
  tags: string[];
  size: number;
  createdAt: Date;
}

/** What the planner looks at. */
export interface PrunePlanInput {
  containers: EngineContainer[];
  images: EngineImage[];
  /** Build cache records; Berth builds nothing yet, so all of them are someone else's. */
  buildCacheCount: number;
  used: Map<string, UsedImage>;
  payload: Pick<CapacityPrunePayload, 'before' | 'categories' | 'protectedDeploymentIds' | 'protectedImages'>;
  /** Whether the agent's desired state runs this deployment now. */
  isDesired(deploymentId: string): boolean;
}

/** A candidate with what removing it means. */
export interface PlannedCandidate extends PruneCandidate {
  kind: 'container' | 'image';
}

/** The plan: every Berth object looked at, with its action; foreign objects only counted. */
export interface PrunePlan {
  candidates: PlannedCandidate[];
  inspectedCount: number;
  excludedCount: number;
}

const isBerths = (c: EngineContainer) => c.labels[berthLabels.managed] === 'true';
const newest = (dates: Date[]) => new Date(Math.max(...dates.map((d) => d.getTime())));

/**
 * Decides what a prune removes. Only Berth's objects are ever selected: stopped containers labelled
 * `berth.managed=true`, and images no container other than those uses that Berth ran deployments from (its record,
 * or a Berth container's image). Never a running container, never what the desired state runs, never a protected
 * deployment's container or image (each resource's current one and its rollback candidate), never anything used
 * after `before`, never volumes. Pure: the same input gives the same plan, so a real run removes what its dry run
 * listed.
 */
export function planPrune(input: PrunePlanInput): PrunePlan {
  const { payload } = input;
  const before = new Date(payload.before).getTime();
  const categories = new Set(payload.categories);
  const protectedDeployments = new Set(payload.protectedDeploymentIds);
  const protectedRefs = new Set(payload.protectedImages);
  const candidates: PlannedCandidate[] = [];
  let inspectedCount = 0;
  let excludedCount = 0;

  // Containers that stay after this plan: everything but the stopped Berth containers it selects.
  const removedContainers = new Set<string>();
  const protectedImageIds = new Set<string>();
  for (const container of input.containers) {
    const deploymentId = container.labels[berthLabels.deployment] ?? '';
    const isProtected = protectedDeployments.has(deploymentId) || input.isDesired(deploymentId);
    if (isBerths(container) && isProtected) protectedImageIds.add(container.imageId);
    if (!categories.has('stopped-containers')) continue;
    inspectedCount += 1;
    if (!isBerths(container)) {
      excludedCount += 1;
      continue;
    }
    const updatedAt = container.finishedAt ?? container.createdAt;
    const base = {
      id: container.id,
      kind: 'container' as const,
      category: 'stopped-containers' as const,
      target: container.name,
      updatedAt: updatedAt.toISOString(),
      size: container.writableBytes,
    };
    if (container.running || input.isDesired(deploymentId)) {
      candidates.push({ ...base, action: 'skipped', skippedReason: 'active-runtime' });
    } else if (protectedDeployments.has(deploymentId)) {
      candidates.push({ ...base, action: 'skipped', skippedReason: 'rollback-candidate' });
    } else if (updatedAt.getTime() < before) {
      candidates.push({ ...base, action: 'matched' });
      removedContainers.add(container.id);
    }
  }

  if (categories.has('unused-images')) {
    const remaining = input.containers.filter((c) => !removedContainers.has(c.id));
    for (const image of input.images) {
      inspectedCount += 1;
      const berthUsers = input.containers.filter((c) => isBerths(c) && c.imageId === image.id);
      const record = input.used.get(image.id);
      const usedByOthers = input.containers.some((c) => !isBerths(c) && c.imageId === image.id);
      // Not only Berth's: never named, only counted.
      if ((record === undefined && berthUsers.length === 0) || usedByOthers) {
        excludedCount += 1;
        continue;
      }
      const lastUsed = newest([
        ...berthUsers.map((c) => c.finishedAt ?? c.createdAt),
        ...(record ? [new Date(record.lastUsedAt)] : []),
      ]);
      const base = {
        id: image.id,
        kind: 'image' as const,
        category: 'unused-images' as const,
        target: image.tags[0] ?? record?.refs[0] ?? image.id,
        updatedAt: lastUsed.toISOString(),
        size: image.size,
      };
      const refs = [...image.tags, ...(record?.refs ?? [])];
      if (protectedImageIds.has(image.id) || refs.some((ref) => protectedRefs.has(ref))) {
        candidates.push({ ...base, action: 'skipped', skippedReason: 'rollback-candidate' });
      } else if (remaining.some((c) => c.imageId === image.id)) {
        candidates.push({ ...base, action: 'skipped', skippedReason: 'in-use' });
      } else if (lastUsed.getTime() < before) {
        candidates.push({ ...base, action: 'matched' });
      }
    }
  }

  if (categories.has('docker-build-cache')) {
    inspectedCount += input.buildCacheCount;
    excludedCount += input.buildCacheCount;
  }
  return { candidates, inspectedCount, excludedCount };
}
