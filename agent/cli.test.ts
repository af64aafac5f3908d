import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentCliIo, runAgentCli } from './cli.js';
import { statePaths } from './state-dir.js';
import type { AgentStatus } from './status.js';

let stateDir: string;
let out: string;
let err: string;
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'berth-agent-cli-'));
  out = '';
  err = '';
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

const io = (): AgentCliIo => ({
  env: { BERTH_AGENT_STATE_DIR: stateDir, BERTH_LOG_LEVEL: 'silent' },
  stdout: (text) => {
    out += text;
  },
  stderr: (text) => {
    err += text;
  },
  on: () => undefined,
  off: () => undefined,
  exit: (code) => {
    throw new Error(`exit ${code}`);
  },
});

const status = (overrides: Partial<AgentStatus>): AgentStatus => ({
  state: 'open',
  serverId: 'srv_1',
  sessionId: 'ses_1',
  connectedSince: '2025-01-01T00:00:00.000Z',
  lastError: null,
  reconnectAttempt: 0,
  spool: { queued: 0, dropped: 0 },
  pid: process.pid,
  updatedAt: '2025-01-01T00:00:01.000Z',
  ...overrides,
});

describe('berth agent (CLI)', () => {
  it('--help lists the subcommands and the settings, exit 0', async () => {
    expect(await runAgentCli(['--help'], io())).toBe(0);
    for (const text of ['berth agent [run]', 'berth agent enroll', 'berth agent status', 'BERTH_AGENT_STATE_DIR']) {
      expect(out).toContain(text);
    }
  });

  it('run without an enrollment exits 1 and says how to enroll', async () => {
    expect(await runAgentCli([], io())).toBe(1);
    expect(err).toContain('not enrolled');
    expect(err).toContain('berth agent enroll --url');
  });

  it('enroll without --url/--token, an unknown flag or an unknown subcommand exit 2', async () => {
    expect(await runAgentCli(['enroll', '--url', 'http://x'], io())).toBe(2);
    expect(err).toContain('--url and --token are required');
    expect(await runAgentCli(['run', '--nope'], io())).toBe(2);
    expect(await runAgentCli(['frobnicate'], io())).toBe(2);
  });

  it('status exits 0 for a live open link and prints it readably', async () => {
    await writeFile(statePaths(stateDir).status, JSON.stringify(status({})));
    expect(await runAgentCli(['status'], io())).toBe(0);
    expect(out).toMatch(/state:\s+open/);
    expect(out).toMatch(/session:\s+ses_1/);
  });

  it('status exits 1 in backoff, showing the last error', async () => {
    await writeFile(
      statePaths(stateDir).status,
      JSON.stringify(status({ state: 'backoff', sessionId: null, lastError: 'unavailable: connect ECONNREFUSED' })),
    );
    expect(await runAgentCli(['status'], io())).toBe(1);
    expect(out).toContain('unavailable: connect ECONNREFUSED');
  });

  it('status exits 1 for an "open" status left behind by a dead process', async () => {
    await writeFile(statePaths(stateDir).status, JSON.stringify(status({ pid: 2 ** 22 + 7 })));
    expect(await runAgentCli(['status'], io())).toBe(1);
    expect(out).toContain('is not running');
  });

  it('status without any status file exits 1', async () => {
    expect(await runAgentCli(['status'], io())).toBe(1);
    expect(err).toContain('no status');
  });
});
