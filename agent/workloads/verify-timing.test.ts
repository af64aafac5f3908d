import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpHealth } from '../../test/helpers/images.js';
import type { ContainerInfo } from './containers.js';
import { verifyHealth } from './verify.js';

// An app that always answers 503, standing in for a published container port.
let server: http.Server;
let port: number;
beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const container = (): ContainerInfo => ({
  id: 'c1',
  name: 'berth-web-00000001',
  deploymentId: 'dep-1',
  resourceId: 'res-1',
  state: 'running',
  running: true,
  exitCode: null,
  hostPorts: { 8080: port },
  networkIp: null,
  createdAt: '2024-05-01T10:00:00.000Z',
  startedAt: '2024-05-01T10:00:00.000Z',
  restartCount: 0,
});

/** A runtime whose container keeps running; only the calls verifyHealth makes. */
const runningRuntime = {
  inspect: async () => container(),
  logs: async () => [],
  followLogs: async () => undefined,
};

describe('verifyHealth timing', () => {
  it('waits the start period once, then the interval between checks, through the injected sleep', async () => {
    const waits: number[] = [];
    const outcome = await verifyHealth({
      containers: runningRuntime,
      container: container(),
      health: httpHealth({ startPeriodSeconds: 7, intervalSeconds: 3, retries: 3 }),
      internalPort: 8080,
      now: () => 0,
      sleep: async (ms) => {
        // Exit checks pause too; the timing of checks is what this test is about.
        if (ms !== 250) waits.push(ms);
        // Yield to I/O, as a real timer would, so the exit-check loop cannot starve the HTTP check.
        await new Promise((resolve) => setImmediate(resolve));
      },
      exitCheckIntervalMs: 250,
    });

    expect(outcome).toEqual({
      healthy: false,
      code: 'unhealthy',
      reason: 'GET /healthz answered 503, expected 200',
      attempts: 3,
      durationMs: 0,
    });
    expect(waits).toEqual([7_000, 3_000, 3_000]);
  });

  it('is canceled without any check when its signal has already fired', async () => {
    const outcome = await verifyHealth({
      containers: runningRuntime,
      container: container(),
      health: httpHealth(),
      internalPort: 8080,
      signal: AbortSignal.abort(),
    });

    expect(outcome).toMatchObject({ healthy: false, code: 'canceled', attempts: 0 });
  });
});
