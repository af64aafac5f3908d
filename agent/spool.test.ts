import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventKind } from '../shared/command-catalogue.js';
import { createSpool, type SpooledEvent } from './spool.js';

let dir: string;
// Every store a test creates, flushed before its folder is removed.
const stores: Array<{ flush(): Promise<void> }> = [];
function track<T extends { flush(): Promise<void> }>(store: T): T {
  stores.push(store);
  return store;
}
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-spool-'));
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.flush()));
  expect(persistErrors).toEqual([]);
  persistErrors = [];
  await rm(dir, { recursive: true, force: true });
});

const event = (n: number): SpooledEvent => ({
  kind: eventKind.dockerUnreachable,
  observedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
  attributes: { n: String(n) },
});
// Persist errors are collected and checked after each test (afterEach), rather than thrown from a background write.
let persistErrors: unknown[] = [];
const failOnPersist = (error: unknown) => {
  persistErrors.push(error);
};

describe('spool', () => {
  it('drops the oldest events first once full, and counts every drop', () => {
    const spool = track(createSpool({ file: path.join(dir, 'spool.json'), limit: 3, onPersistError: failOnPersist }));
    for (let i = 1; i <= 5; i++) spool.push(event(i));
    expect(spool.counts()).toEqual({ queued: 3, dropped: 2 });
    expect(spool.takeAll()).toEqual({ events: [event(3), event(4), event(5)], dropped: 2 });
    expect(spool.counts()).toEqual({ queued: 0, dropped: 0 });
  });

  it('survives a restart: events and the drop count are persisted (0600)', async () => {
    const file = path.join(dir, 'spool.json');
    const spool = track(createSpool({ file, limit: 2, onPersistError: failOnPersist }));
    for (let i = 1; i <= 3; i++) spool.push(event(i));
    await spool.flush();
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const reloaded = track(createSpool({ file, limit: 2, onPersistError: failOnPersist }));
    await reloaded.load();
    expect(reloaded.takeAll()).toEqual({ events: [event(2), event(3)], dropped: 1 });
  });

  it('persists the latest state after a burst, never an older snapshot', async () => {
    const file = path.join(dir, 'spool.json');
    const spool = track(createSpool({ file, onPersistError: failOnPersist }));
    for (let i = 1; i <= 50; i++) spool.push(event(i));
    spool.takeAll();
    spool.push(event(99));
    await spool.flush();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { events: SpooledEvent[]; dropped: number };
    expect(saved).toMatchObject({ events: [event(99)], dropped: 0 });
  });

  it('puts unsent events back in front of newer ones, keeping the order and the drop count', () => {
    const spool = track(createSpool({ file: path.join(dir, 'spool.json'), limit: 10, onPersistError: failOnPersist }));
    spool.push(event(1));
    spool.push(event(2));
    const taken = spool.takeAll();
    spool.push(event(3));
    spool.putBack(taken.events.slice(1), 4);
    expect(spool.takeAll()).toEqual({ events: [event(2), event(3)], dropped: 4 });
  });
});
