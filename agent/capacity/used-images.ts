import nodePath from 'node:path';
import { readJsonFile, writeFileAtomic } from '../json-file.js';

/** When Berth last used an image, by the engine's image id, and under which references. */
export interface UsedImage {
  refs: string[];
  lastUsedAt: string;
}

/**
 * The images Berth ran deployments from (`used-images.json` in the state folder). A prune may only select an image
 * recorded here or used by a Berth container: a pulled image carries no label, and once its containers are
 * retired nothing on the engine says Berth brought it. Calls are serialized; a damaged file reads as empty (it only
 * ever makes a prune select less).
 */
export interface UsedImageStore {
  record(imageId: string, ref: string, at: Date): Promise<void>;
  all(): Promise<Map<string, UsedImage>>;
  forget(imageIds: readonly string[]): Promise<void>;
}

export function createUsedImageStore(stateDir: string): UsedImageStore {
  const file = nodePath.join(stateDir, 'used-images.json');
  let queue: Promise<unknown> = Promise.resolve();

  async function load(): Promise<Map<string, UsedImage>> {
    const raw = await readJsonFile(file).catch(() => undefined);
    const images = new Map<string, UsedImage>();
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return images;
    for (const [id, value] of Object.entries(raw as Record<string, Partial<UsedImage>>)) {
      if (Array.isArray(value?.refs) && typeof value.lastUsedAt === 'string') {
        images.set(id, { refs: value.refs.filter((r) => typeof r === 'string'), lastUsedAt: value.lastUsedAt });
      }
    }
    return images;
  }

  const save = (images: Map<string, UsedImage>) =>
    writeFileAtomic(file, `${JSON.stringify(Object.fromEntries(images))}\n`, 0o600);

  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  }

  return {
    record: (imageId, ref, at) =>
      serialized(async () => {
        const images = await load();
        const known = images.get(imageId);
        images.set(imageId, {
          refs: [...new Set([...(known?.refs ?? []), ref])],
          lastUsedAt: at.toISOString(),
        });
        await save(images);
      }),
    all: () => serialized(load),
    forget: (imageIds) =>
      serialized(async () => {
        const images = await load();
        for (const id of imageIds) images.delete(id);
        await save(images);
      }),
  };
}
