import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/free-port.js';
import {
  type BerthProcess,
  cleanUpDataDir,
  killAllBerthProcesses,
  makeDataDir,
  startBerth,
} from './helpers/berth-process.js';

let dataDir: string;
let berth: BerthProcess | undefined;
let token = '';

async function api(route: string, init: RequestInit = {}): Promise<Response> {
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return fetch(`${berth!.url}${route}`, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
}

/** The server "local" as the API shows it, waiting up to `timeoutMs` for `state`. */
async function waitForLocal(
  state: string,
  timeoutMs = 30_000,
): Promise<{ id: string; agent: { connectionState: string } }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const items = (
      (await (await api('/servers')).json()) as {
        items: { name: string; id: string; agent: { connectionState: string } }[];
      }
    ).items;
    const local = items.find((s) => s.name === 'local');
    last = local;
    if (local?.agent.connectionState === state) return local;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the server "local" did not become ${state}: ${JSON.stringify(last)}`);
}

const agentPid = () => Number(readFileSync(path.join(dataDir, 'agent', 'agent.pid'), 'utf8'));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/status`, 'utf8').includes('State:\tZ');
  } catch {
    return false;
  }
};

// Fixed ports, as in real use: the enrolled agent keeps dialing the gateway address it was given.
let env: Record<string, string>;

beforeAll(async () => {
  dataDir = await makeDataDir();
  env = { BERTH_HTTP_PORT: String(await freePort()), BERTH_GRPC_PORT: String(await freePort()) };
});
afterAll(async () => {
  await berth?.stop().catch(() => undefined);
  await killAllBerthProcesses();
  await cleanUpDataDir(dataDir);
});

describe('berth dev runs an agent for this machine', () => {
  it('enrolls this machine as the server "local" once the first admin exists, and it connects', async () => {
    berth = await startBerth({ command: 'dev', dataDir, env });
    const created = await api('/bootstrap/auth/first-admin', {
      method: 'POST',
      body: JSON.stringify({ email: 'dev@example.com', displayName: 'Dev' }),
    });
    const { generatedPassword } = (await created.json()) as { generatedPassword: string };
    const login = await api('/auth/sessions', {
      method: 'POST',
      body: JSON.stringify({ email: 'dev@example.com', password: generatedPassword }),
    });
    token = ((await login.json()) as { token: string }).token;
    const local = await waitForLocal('connected');
    const test = (await (await api(`/servers/${local.id}/connectivity-tests`, { method: 'POST' })).json()) as {
      checks: { name: string; status: string }[];
    };
    expect(test.checks.find((c) => c.name === 'agent-session')?.status).toBe('passed');
    expect(berth.stderr()).toContain('enrolled as the server "local"');
  }, 90_000);

  it('stops its agent when it stops, and brings it back connected on the next start', async () => {
    const pid = agentPid();
    expect(await berth!.stop()).toBe(0);
    expect(alive(pid)).toBe(false);
    berth = await startBerth({ command: 'dev', dataDir, env });
    await waitForLocal('connected');
  }, 90_000);

  it('after a kill -9 of berth dev, the next start stops the orphaned agent instead of running two', async () => {
    const orphan = agentPid();
    await berth!.kill9();
    expect(alive(orphan)).toBe(true);
    berth = await startBerth({ command: 'dev', dataDir, env });
    // The new agent writes its pid once the orphan is gone.
    for (let i = 0; i < 200 && agentPid() === orphan; i++) await new Promise((r) => setTimeout(r, 100));
    expect(agentPid()).not.toBe(orphan);
    expect(alive(orphan)).toBe(false);
    await waitForLocal('connected');
  }, 90_000);
});
