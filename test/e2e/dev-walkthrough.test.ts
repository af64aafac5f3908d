import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningPostmasterPort } from '../../control-plane/db/embedded-postgres.js';
import {
  type BerthProcess,
  cleanUpDataDir,
  killAllBerthProcesses,
  makeDataDir,
  processesOf,
  repoRoot,
  startBerth,
} from './helpers/berth-process.js';

const run = promisify(execFile);

// One data folder for the whole file: the tests run in order and each builds on the state the previous one left.
let dataDir: string;
let berth: BerthProcess | undefined;
let adminPassword = '';

const startDev = async (): Promise<BerthProcess> => {
  berth = await startBerth({ command: 'dev', dataDir });
  return berth;
};

/** The bash block between the README's walkthrough markers. */
async function readmeWalkthrough(): Promise<string> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const section = /<!-- walkthrough:start -->([\s\S]*?)<!-- walkthrough:end -->/.exec(readme)?.[1];
  const script = section && /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!script) throw new Error('README.md has no ```bash block between the walkthrough markers');
  return script;
}

async function api(
  method: string,
  route: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const res = await fetch(`${berth!.url}${route}`, { method, headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function login(): Promise<string> {
  const res = await api('POST', '/auth/sessions', { body: { email: 'admin@example.com', password: adminPassword } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body['token'] as string;
}

async function projectNames(token: string): Promise<string[]> {
  const res = await api('GET', '/projects', { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body['items'] as Array<{ name: string }>).map((p) => p.name);
}

/** Stops Berth gracefully and checks it exited 0 within 15 s, taking its embedded PostgreSQL with it. */
async function stopGracefully(): Promise<void> {
  const started = Date.now();
  const code = await berth!.stop('SIGTERM');
  expect(code, berth!.stdout() + berth!.stderr()).toBe(0);
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(await processesOf(dataDir)).toEqual([]);
}

/** Server log lines (fastify's "request completed") that answered with a 5xx. */
const serverErrors = (p: BerthProcess) =>
  p.logs().filter((l) => ((l['res'] as { statusCode?: number } | undefined)?.statusCode ?? 0) >= 500);

beforeAll(async () => {
  dataDir = await makeDataDir();
});

afterAll(async () => {
  await killAllBerthProcesses();
  await cleanUpDataDir(dataDir);
});

describe('berth dev, run as a newcomer would', () => {
  it('the README walkthrough works verbatim against berth dev', { timeout: 90_000 }, async () => {
    await startDev();
    const script = await readmeWalkthrough();
    const [first, ...rest] = script.split('\n');
    expect(first).toBe('BERTH=http://127.0.0.1:8080');
    const { stdout, stderr } = await run(
      'bash',
      ['-euo', 'pipefail', '-c', [`BERTH=${berth!.url}`, ...rest].join('\n')],
      {
        cwd: repoRoot,
        timeout: 60_000,
      },
    );

    expect(stdout).toContain('"bootstrapRequired":true');
    adminPassword = /^admin password \(keep it\): (\S+)$/m.exec(stdout)?.[1] ?? '';
    expect(adminPassword, stdout).toMatch(/^[\w-]{20,}$/);
    expect(stdout).toMatch(/"id":"prj-/);
    expect(stdout).toContain('"name":"Web shop"');
    const envelope = stdout.split('\n').find((line) => line.includes('VALIDATION_ERROR'));
    expect(envelope, stdout).toBeDefined();
    expect(JSON.parse(envelope!)).toMatchObject({ code: 'VALIDATION_ERROR', requestId: expect.any(String) });
    const effective = JSON.parse(
      stdout.split('\n').find((line) => line.includes('resources.effective-config/v1')) ?? '{}',
    );
    expect(effective.effectiveEntries).toEqual([
      expect.objectContaining({ key: 'DATABASE_PASSWORD', value: '****', scope: 'resource', isSecret: true }),
      expect.objectContaining({ key: 'LOG_LEVEL', value: 'debug', scope: 'resource' }),
      expect.objectContaining({ key: 'PORT', value: '8080', scope: 'resource' }),
    ]);
    expect(effective.overrides).toEqual([
      expect.objectContaining({
        key: 'LOG_LEVEL',
        overriddenScope: 'environment',
        rule: 'resource-overrides-environment',
      }),
    ]);
    expect(stdout).not.toContain('correct-horse-battery');
    expect(JSON.stringify(berth!.logs())).not.toContain('correct-horse-battery');
    // The secret is in the embedded database only sealed: a full dump does not contain it.
    const port = await runningPostmasterPort(path.join(dataDir, 'postgres'));
    const password = (await readFile(path.join(dataDir, 'postgres-password'), 'utf8')).trim();
    const { stdout: dump } = await run(
      '/usr/lib/postgresql/15/bin/pg_dump',
      [`postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/berth`],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    expect(dump).toContain('DATABASE_PASSWORD');
    expect(dump).not.toContain('correct-horse-battery');
    const locked = stdout.split('\n').find((line) => line.includes('"code":"CONFLICT"'));
    expect(locked, stdout).toBeDefined();
    expect(JSON.parse(locked!).hint).toMatch(/POST \/environments\/env-\w+\/unlock.*release freeze/);
    expect(stdout).not.toContain('INTERNAL');
    expect(stderr).toBe('');
    expect(serverErrors(berth!)).toEqual([]);
  });

  it('a project survives a graceful restart', { timeout: 60_000 }, async () => {
    expect(adminPassword, 'the walkthrough test must run first').not.toBe('');
    await stopGracefully();
    await startDev();
    expect(await projectNames(await login())).toContain('Web shop');
  });

  it('a project survives kill -9 of the control plane', { timeout: 90_000 }, async () => {
    const [postmaster] = await processesOf(dataDir);
    expect(postmaster, 'the embedded PostgreSQL should be running').toBeGreaterThan(0);
    await berth!.kill9();
    // The postmaster is not in Berth's process, so it lives on, orphaned, holding the cluster.
    expect(await processesOf(dataDir)).toEqual([postmaster]);

    await startDev();
    expect(berth!.logs().some((l) => l['msg'] === 'stopping an orphaned PostgreSQL left by a previous run')).toBe(true);
    expect(await processesOf(dataDir)).not.toContain(postmaster);
    const token = await login();
    expect(await projectNames(token)).toContain('Web shop');
    const created = await api('POST', '/projects', { token, body: { name: 'After the crash' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    await stopGracefully();
    await startDev();
    expect(await projectNames(await login())).toEqual(expect.arrayContaining(['Web shop', 'After the crash']));
    expect(serverErrors(berth!)).toEqual([]);
  });

  it('graceful shutdown finishes a request in flight', { timeout: 60_000 }, async () => {
    const running = berth!;
    const url = new URL(running.url);
    // A login costs ~100 ms of scrypt: SIGTERM goes out as soon as the server has logged the request, before it answers.
    const received = running.waitForLog(
      (l) => l['msg'] === 'incoming request' && (l['req'] as { url?: string } | undefined)?.url === '/auth/sessions',
    );
    const inFlight = api('POST', '/auth/sessions', { body: { email: 'admin@example.com', password: adminPassword } });
    await received;
    const signalledAt = Date.now();
    const code = running.stop('SIGTERM');

    const res = await inFlight;
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body['token']).toEqual(expect.any(String));
    expect(await code).toBe(0);
    // The answered keep-alive connection must not hold the shutdown for its keep-alive timeout (72 s).
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    const messages = running.logs().map((l) => l['msg']);
    const lastCompleted = messages.lastIndexOf('request completed');
    expect(messages.indexOf('shutting down')).toBeGreaterThan(-1);
    expect(messages.indexOf('shutting down'), 'SIGTERM should arrive before the answer').toBeLessThan(lastCompleted);

    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname);
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(await processesOf(dataDir)).toEqual([]);
  });

  it('leaves nothing running on its data folder', async () => {
    await killAllBerthProcesses();
    const leftovers = await cleanUpDataDir(dataDir);
    expect(leftovers, 'processes were still running on the data folder after the final graceful stop').toEqual([]);
  });
});
