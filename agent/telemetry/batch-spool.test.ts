import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import nodePath from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openBatchSpool } from './batch-spool.js';

const dirs: string[] = [];
async function freshDir() {
  const dir = await mkdtemp(nodePath.join(os.tmpdir(), 'berth-batch-spool-'));
  dirs.push(dir);
  return nodePath.join(dir, 'telemetry-spool');
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
const bytes = (seq: bigint) => new TextEncoder().encode(`batch ${seq}`);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('the telemetry batch spool', () => {
  it('numbers batches from 1, hands them out in order and forgets them once acknowledged', async () => {
    const spool = await openBatchSpool({ dir: await freshDir() });
    for (let i = 0; i < 5; i++) await spool.append(bytes);
    const first = await spool.pending(0n, 3);
    expect(first.map((b) => [b.seq, text(b.bytes)])).toEqual([
      [1n, 'batch 1'],
      [2n, 'batch 2'],
      [3n, 'batch 3'],
    ]);
    expect((await spool.pending(3n, 10)).map((b) => b.seq)).toEqual([4n, 5n]);
    await spool.acknowledge(3n);
    expect(spool.counts()).toEqual({ queued: 2, dropped: 0 });
    expect((await spool.pending(0n, 10)).map((b) => b.seq)).toEqual([4n, 5n]);
  });

  it('keeps its id, its numbering and its unsent batches across a restart', async () => {
    const dir = await freshDir();
    const before = await openBatchSpool({ dir });
    await before.append(bytes);
    await before.append(bytes);
    await before.acknowledge(1n);
    const after = await openBatchSpool({ dir });
    expect(after.spoolId).toBe(before.spoolId);
    expect((await after.pending(0n, 10)).map((b) => b.seq)).toEqual([2n]);
    expect(await after.append(bytes)).toBe(3n);
  });

  it('drops the oldest batch when full and counts it; a wiped spool starts a new series', async () => {
    const dir = await freshDir();
    const spool = await openBatchSpool({ dir, limit: 3 });
    for (let i = 0; i < 5; i++) await spool.append(bytes);
    expect(spool.counts()).toEqual({ queued: 3, dropped: 2 });
    expect((await spool.pending(0n, 10)).map((b) => b.seq)).toEqual([3n, 4n, 5n]);
    expect((await readdir(dir)).filter((f) => f.endsWith('.pb'))).toHaveLength(3);
    await rm(dir, { recursive: true });
    const wiped = await openBatchSpool({ dir });
    expect(wiped.spoolId).not.toBe(spool.spoolId);
    expect(await wiped.append(bytes)).toBe(1n);
  });
});
