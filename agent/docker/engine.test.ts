import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDockerEngine } from './engine.js';
import { createDockerWatch } from './watch.js';

let dir: string;
let socketPath: string;
let server: http.Server | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-docker-'));
  socketPath = path.join(dir, 'docker.sock');
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A fake engine on a unix socket, answering like dockerd 20.10 (or hanging, to test the timeout). */
async function fakeEngine(behaviour: 'ok' | 'error' | 'hang'): Promise<void> {
  server = http.createServer((request, response) => {
    if (behaviour === 'hang') return;
    if (behaviour === 'error') return void response.writeHead(500).end('{"message":"daemon is broken"}');
    if (request.url === '/_ping') return void response.writeHead(200).end('OK');
    if (request.url === '/version') {
      return void response.writeHead(200).end(JSON.stringify({ Version: '20.10.24+dfsg1', ApiVersion: '1.41' }));
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
}

describe('docker engine over its unix socket', () => {
  it('reads the version and API version, and pings', async () => {
    await fakeEngine('ok');
    const engine = createDockerEngine({ endpoint: { socketPath } });
    await expect(engine.ping()).resolves.toBeUndefined();
    expect(await engine.facts()).toEqual({ reachable: true, version: '20.10.24+dfsg1', apiVersion: '1.41', error: '' });
  });

  it('reports a missing socket as unreachable with a readable reason', async () => {
    const facts = await createDockerEngine({ endpoint: { socketPath } }).facts();
    expect(facts).toMatchObject({ reachable: false, version: '' });
    expect(facts.error).toContain(`no Docker engine at ${socketPath}`);
  });

  it('reports an engine error answer as unreachable', async () => {
    await fakeEngine('error');
    const facts = await createDockerEngine({ endpoint: { socketPath } }).facts();
    expect(facts).toMatchObject({ reachable: false, error: expect.stringContaining('HTTP 500') });
  });

  it('gives up on a hung engine after the timeout', async () => {
    await fakeEngine('hang');
    const started = Date.now();
    const facts = await createDockerEngine({ endpoint: { socketPath }, timeoutMs: 100 }).facts();
    expect(facts.error).toContain('within 100 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('docker watch', () => {
  it('reports only transitions, not the first look', async () => {
    vi.useFakeTimers();
    try {
      const states = [true, true, false, false, true];
      let i = 0;
      const changes: boolean[] = [];
      const watch = createDockerWatch({
        engine: {
          facts: async () => ({
            reachable: states[Math.min(i++, states.length - 1)]!,
            version: '',
            apiVersion: '',
            error: '',
          }),
        },
        intervalMs: 30_000,
        onChange: (facts) => changes.push(facts.reachable),
      });
      watch.start();
      await vi.advanceTimersByTimeAsync(4 * 30_000 + 1);
      await watch.stop();
      expect(i).toBe(5);
      expect(changes).toEqual([false, true]);
    } finally {
      vi.useRealTimers();
    }
  });
});
