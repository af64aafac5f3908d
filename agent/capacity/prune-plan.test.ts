import { describe, expect, it } from 'vitest';
import { type EngineContainer, type EngineImage, planPrune } from './prune-plan.js';
import type { UsedImage } from './used-images.js';

const old = new Date('2026-01-01T00:00:00Z');
const recent = new Date('2026-12-01T00:00:00Z');
const before = '2026-06-01T00:00:00.000Z';

function container(id: string, overrides: Partial<EngineContainer> = {}): EngineContainer {
  return {
    id,
    name: id,
    imageId: 'img-a',
    labels: {},
    running: false,
    state: 'exited',
    createdAt: old,
    finishedAt: old,
    writableBytes: 10,
    ...overrides,
  };
}
const berth = (deploymentId: string) => ({ 'berth.managed': 'true', 'berth.deployment': deploymentId });
const image = (id: string, tags: string[]): EngineImage => ({ id, tags, size: 100, createdAt: old });

function plan(input: {
  containers: EngineContainer[];
  images?: EngineImage[];
  used?: Map<string, UsedImage>;
  protectedDeploymentIds?: string[];
  protectedImages?: string[];
  desired?: string[];
}) {
  return planPrune({
    containers: input.containers,
    images: input.images ?? [],
    buildCacheCount: 0,
    used: input.used ?? new Map(),
    payload: {
      before,
      categories: ['stopped-containers', 'unused-images'],
      protectedDeploymentIds: input.protectedDeploymentIds ?? [],
      protectedImages: input.protectedImages ?? [],
    },
    isDesired: (id) => (input.desired ?? []).includes(id),
  });
}

describe('the prune planner', () => {
  it('selects stopped Berth containers used before the cut-off, and only counts everyone else', () => {
    const result = plan({
      containers: [
        container('berth-old', { labels: berth('dep-1') }),
        container('berth-recent', { labels: berth('dep-2'), finishedAt: recent }),
        container('foreign-old'),
        container('berth-lookalike', { name: 'berth-x-12345678' }),
      ],
    });
    expect(result.candidates.map((c) => [c.id, c.action])).toEqual([['berth-old', 'matched']]);
    expect(result.excludedCount).toBe(2);
    expect(result.inspectedCount).toBe(4);
  });

  it('keeps running, desired and protected deployments, saying why', () => {
    const result = plan({
      containers: [
        container('running', { labels: berth('dep-1'), running: true, state: 'running' }),
        container('desired', { labels: berth('dep-2') }),
        container('rollback', { labels: berth('dep-3') }),
      ],
      desired: ['dep-2'],
      protectedDeploymentIds: ['dep-3'],
    });
    expect(result.candidates.map((c) => [c.id, c.action, c.skippedReason])).toEqual([
      ['running', 'skipped', 'active-runtime'],
      ['desired', 'skipped', 'active-runtime'],
      ['rollback', 'skipped', 'rollback-candidate'],
    ]);
  });

  it("selects an image once the only containers using it are Berth's pruned ones", () => {
    const result = plan({
      containers: [container('berth-old', { labels: berth('dep-1'), imageId: 'img-a' })],
      images: [image('img-a', ['app:1'])],
    });
    expect(result.candidates.map((c) => [c.target, c.action])).toEqual([
      ['berth-old', 'matched'],
      ['app:1', 'matched'],
    ]);
  });

  it('never names an image a foreign container uses or Berth never used', () => {
    const result = plan({
      containers: [
        container('berth-old', { labels: berth('dep-1'), imageId: 'img-shared' }),
        container('foreign', { imageId: 'img-shared' }),
      ],
      images: [image('img-shared', ['shared:1']), image('img-foreign', ['foreign:1'])],
    });
    expect(result.candidates.map((c) => c.target)).toEqual(['berth-old']);
    // The foreign container, the shared image and the image Berth never used.
    expect(result.excludedCount).toBe(3);
  });

  it('selects a recorded image no container uses, but keeps protected and recently used ones', () => {
    const used = new Map<string, UsedImage>([
      ['img-old', { refs: ['app:1'], lastUsedAt: old.toISOString() }],
      ['img-rollback', { refs: ['app:2'], lastUsedAt: old.toISOString() }],
      ['img-recent', { refs: ['app:3'], lastUsedAt: recent.toISOString() }],
    ]);
    const result = plan({
      containers: [],
      images: [image('img-old', ['app:1']), image('img-rollback', ['app:2']), image('img-recent', ['app:3'])],
      used,
      protectedImages: ['app:2'],
    });
    expect(result.candidates.map((c) => [c.target, c.action, c.skippedReason])).toEqual([
      ['app:1', 'matched', undefined],
      ['app:2', 'skipped', 'rollback-candidate'],
    ]);
  });
});
