import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createListenPortStore } from './listen-ports.js';

let stateDir: string;

beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'berth-listen-ports-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('listen ports', () => {
  it('gives a resource the same port in 20000–29999 across store instances (agent restarts)', async () => {
    const port = await createListenPortStore(stateDir).portFor('res-a');
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThanOrEqual(29999);
    expect(await createListenPortStore(stateDir).portFor('res-a')).toBe(port);
    const saved = JSON.parse(await readFile(path.join(stateDir, 'listen-ports.json'), 'utf8'));
    expect(saved).toEqual({ 'res-a': port });
  });

  it("returns the resource's configured port when given, without forgetting the one it picked", async () => {
    const store = createListenPortStore(stateDir);
    const picked = await store.portFor('res-a');
    expect(await store.portFor('res-a', 8080)).toBe(8080);
    expect(await store.portFor('res-a', null)).toBe(picked);
    expect(await store.portFor('res-b', 9090)).toBe(9090);
    await expect(store.portFor('res-b', 70000)).rejects.toThrow(/not a port/);
  });

  it('gives different resources different ports, even when they ask at the same time', async () => {
    const store = createListenPortStore(stateDir, { range: { min: 20000, max: 20009 }, isFree: async () => true });
    const ports = await Promise.all(Array.from({ length: 10 }, (_, i) => store.portFor(`res-${i}`)));
    expect(new Set(ports).size).toBe(10);
    await expect(store.portFor('res-10')).rejects.toThrow(/no free loopback port/);
  });

  it('never picks a port something already listens on', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as { port: number }).port;
    try {
      const store = createListenPortStore(stateDir, { range: { min: taken, max: taken } });
      await expect(store.portFor('res-a')).rejects.toThrow(/no free loopback port/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('refuses to overwrite a damaged file', async () => {
    await writeFile(path.join(stateDir, 'listen-ports.json'), '{"res-a": "eighty"}');
    await expect(createListenPortStore(stateDir).portFor('res-b')).rejects.toThrow(/not a map of resource ids/);
  });
});
