import { Resolver } from 'node:dns/promises';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { connectResolverDaemon, daemonGeneration } from './resolver-daemon.js';

const log = createLogger({ level: 'silent', name: 'test' });
const standalone = fileURLToPath(new URL('../standalone.ts', import.meta.url));
// The agent's CLI as the real agent runs it: the daemon is a real process started from it.
const command = [process.execPath, '--import', 'tsx', standalone];
let dir: string;
let file: string;

/** The pids of the daemons that logged their start in the state folder. */
async function daemonPids(): Promise<number[]> {
  const text = await readFile(path.join(dir, 'edge-resolver.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.includes('edge resolver listening'))
    .map((line) => (JSON.parse(line) as { pid: number }).pid);
}

async function lookup(address: string, name: string): Promise<string[]> {
  const dns = new Resolver({ timeout: 500, tries: 1 });
  dns.setServers([address]);
  return dns.resolve4(name);
}

async function until(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'berth-resolver-daemon-'));
  file = path.join(dir, 'edge-resolver.json');
});
afterEach(async () => {
  // Removing the state file is what stops a daemon.
  await rm(dir, { recursive: true, force: true });
});

describe('the upstream resolver as its own process', () => {
  it('answers a change once flush resolves, and keeps answering after the agent side is gone', {
    timeout: 30_000,
  }, async () => {
    const first = await connectResolverDaemon({ file, port: 0, command, log });
    first.set('res-a', '172.18.0.7');
    await first.flush();
    expect(await lookup(first.address, 'res-a.berth.internal')).toEqual(['172.18.0.7']);
    await first.close();
    // The "agent" is gone; the daemon still answers, and a new agent adopts it instead of starting another.
    expect(await lookup(first.address, 'res-a.berth.internal')).toEqual(['172.18.0.7']);
    const second = await connectResolverDaemon({ file, port: 0, command, log });
    expect(second.address).toBe(first.address);
    expect(second.get('res-a')).toBe('172.18.0.7');
    second.set('res-a', '172.18.0.9');
    await second.flush();
    expect(await lookup(second.address, 'res-a.berth.internal')).toEqual(['172.18.0.9']);
    expect(await daemonPids()).toHaveLength(1);
  });

  it('is started again by the next change when it died, with every record', { timeout: 30_000 }, async () => {
    const client = await connectResolverDaemon({ file, port: 0, command, log });
    client.set('res-a', '172.18.0.7');
    await client.flush();
    const [pid] = await daemonPids();
    process.kill(pid!, 'SIGKILL');
    const port = Number(client.address.split(':')[1]);
    await until('the daemon to be gone', async () => (await daemonGeneration(port)) === null);
    client.set('res-b', '172.18.0.8');
    await client.flush();
    expect(await lookup(client.address, 'res-a.berth.internal')).toEqual(['172.18.0.7']);
    expect(await lookup(client.address, 'res-b.berth.internal')).toEqual(['172.18.0.8']);
    expect(await daemonPids()).toHaveLength(2);
  });

  it('stops once its state file is removed', { timeout: 30_000 }, async () => {
    const client = await connectResolverDaemon({ file, port: 0, command, log });
    const port = Number(client.address.split(':')[1]);
    expect(await daemonGeneration(port)).not.toBeNull();
    await rm(file);
    await until('the daemon to stop', async () => (await daemonGeneration(port)) === null);
  });
});
