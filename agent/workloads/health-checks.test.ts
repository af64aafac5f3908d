import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpHealth } from '../../test/helpers/images.js';
import { runHttpCheck, runTcpCheck } from './health-checks.js';

const servers: net.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    (server as http.Server).closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const target = (hostPort: number, timeoutMs = 2_000) => ({
  containerPort: 8080,
  hostPort,
  timeoutMs,
  signal: new AbortController().signal,
});
const check = (overrides: Partial<NonNullable<ReturnType<typeof httpHealth>['http']>> = {}) => ({
  ...httpHealth().http!,
  ...overrides,
});

describe('runHttpCheck', () => {
  it('passes on the expected status and text, sending the Host header when one is set', async () => {
    let host: string | undefined;
    const port = await listen(
      http.createServer((req, res) => {
        host = req.headers.host;
        res.end('all ok here');
      }),
    );

    await expect(runHttpCheck(check({ host: 'shop.example.com' }), target(port))).resolves.toEqual({
      ok: true,
      detail: 'GET /healthz answered 200',
    });
    expect(host).toBe('shop.example.com');
  });

  it('fails when the expected text is missing from the body', async () => {
    const port = await listen(http.createServer((_req, res) => res.end('starting')));

    await expect(runHttpCheck(check(), target(port))).resolves.toEqual({
      ok: false,
      detail: 'GET /healthz answered 200 without "ok"',
    });
  });

  it('fails with "timed out after <n> s" when no answer comes in time', async () => {
    const port = await listen(http.createServer(() => undefined));

    await expect(runHttpCheck(check({ method: 'HEAD' }), target(port, 300))).resolves.toEqual({
      ok: false,
      detail: 'HEAD /healthz timed out after 0.3 s',
    });
  });

  it('fails with "connection refused" when nothing listens', async () => {
    await expect(runHttpCheck(check(), target(await freePort()))).resolves.toEqual({
      ok: false,
      detail: 'connection refused',
    });
  });

  it('ends at once with a failed result when its signal fires', async () => {
    const port = await listen(http.createServer(() => undefined));
    const controller = new AbortController();
    const result = runHttpCheck(check(), { ...target(port, 10_000), signal: controller.signal });
    controller.abort();

    await expect(result).resolves.toEqual({ ok: false, detail: 'canceled' });
  });
});

describe('runTcpCheck', () => {
  it('passes when the peer keeps the connection open or sends a banner', async () => {
    const quiet = await listen(net.createServer(() => undefined));
    const chatty = await listen(net.createServer((socket) => socket.write('220 ready\r\n')));

    await expect(runTcpCheck(target(quiet))).resolves.toMatchObject({ ok: true });
    await expect(runTcpCheck(target(chatty))).resolves.toMatchObject({ ok: true });
  });

  it("fails when the peer closes at once, as Docker's loopback proxy does when nothing listens inside", async () => {
    const port = await listen(net.createServer((socket) => socket.end()));

    await expect(runTcpCheck(target(port))).resolves.toEqual({
      ok: false,
      detail: 'connection closed at once (is anything listening on port 8080?)',
    });
  });

  it('fails with "connection refused" when nothing listens', async () => {
    await expect(runTcpCheck(target(await freePort()))).resolves.toEqual({ ok: false, detail: 'connection refused' });
  });
});
