import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CachedResult, createReplayCache } from './replay-cache.js';

let dir: string;
// Every store a test creates, flushed before its folder is removed.
const stores: Array<{ flush(): Promise<void> }> = [];
function track<T extends { flush(): Promise<void> }>(store: T): T {
  stores.push(store);
  return store;
}
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-replay-'));
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.flush()));
  expect(persistErrors).toEqual([]);
  persistErrors = [];
  await rm(dir, { recursive: true, force: true });
});

const result = (n: number): CachedResult => ({
  succeeded: true,
  errorCode: '',
  errorMessage: '',
  resultJson: JSON.stringify({ n }),
  handledAt: '2025-01-01T00:00:00.000Z',
});
// Persist errors are collected and checked after each test (afterEach), rather than thrown from a background write.
let persistErrors: unknown[] = [];
const failOnPersist = (error: unknown) => {
  persistErrors.push(error);
};

describe('replay cache', () => {
  it('answers a remembered command id with its result', async () => {
    const cache = track(
      createReplayCache({ file: path.join(dir, 'replay-cache.json'), onPersistError: failOnPersist }),
    );
    await cache.remember('cmd_1', result(1));
    expect(cache.get('cmd_1')).toEqual(result(1));
    expect(cache.get('cmd_2')).toBeUndefined();
  });

  it('survives a restart: a new cache loaded from the same file knows the ids', async () => {
    const file = path.join(dir, 'replay-cache.json');
    const first = track(createReplayCache({ file, onPersistError: failOnPersist }));
    await first.remember('cmd_a', result(1));
    await first.remember('cmd_b', { ...result(2), succeeded: false, errorCode: 'deadline_exceeded' });

    const second = track(createReplayCache({ file, onPersistError: failOnPersist }));
    await second.load();
    expect(second.get('cmd_a')).toEqual(result(1));
    expect(second.get('cmd_b')?.errorCode).toBe('deadline_exceeded');
  });

  it('is on disk by the time remember() resolves', async () => {
    const file = path.join(dir, 'replay-cache.json');
    const cache = track(createReplayCache({ file, onPersistError: failOnPersist }));
    await cache.remember('cmd_x', result(7));
    expect(await readFile(file, 'utf8')).toContain('cmd_x');
  });

  it('keeps only the most recent `limit` ids, forgetting the oldest first, in memory and on disk', async () => {
    const file = path.join(dir, 'replay-cache.json');
    const cache = track(createReplayCache({ file, limit: 3, onPersistError: failOnPersist }));
    for (let i = 1; i <= 5; i++) await cache.remember(`cmd_${i}`, result(i));
    expect(cache.size()).toBe(3);
    expect(cache.get('cmd_1')).toBeUndefined();
    expect(cache.get('cmd_2')).toBeUndefined();
    expect(cache.get('cmd_5')).toEqual(result(5));

    const reloaded = track(createReplayCache({ file, limit: 2, onPersistError: failOnPersist }));
    await reloaded.load();
    expect(reloaded.size()).toBe(2);
    expect(reloaded.get('cmd_3')).toBeUndefined();
    expect(reloaded.get('cmd_4')).toBeDefined();
  });

  it('starts empty when the file does not exist, and refuses a damaged file', async () => {
    const cache = track(createReplayCache({ file: path.join(dir, 'missing.json'), onPersistError: failOnPersist }));
    await cache.load();
    expect(cache.size()).toBe(0);

    const file = path.join(dir, 'damaged.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, '{"entries":'));
    await expect(track(createReplayCache({ file, onPersistError: failOnPersist })).load()).rejects.toThrow(
      /not valid JSON/,
    );
  });
});
