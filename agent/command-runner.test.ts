import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { describe, expect, it, vi } from 'vitest';
import { commandKind } from '../shared/command-catalogue.js';
import { type AgentMessage, type CommandResult, CommandSchema } from '../shared/gen/berth/agent/v1/agent_pb.js';
import { createLogger } from '../shared/logger.js';
import { createCommandRunner } from './command-runner.js';
import type { CachedResult } from './replay-cache.js';

const now = new Date('2025-03-01T12:00:00Z');
const log = createLogger({ level: 'silent', name: 'test' });

const defaultHostFacts = () => ({ hostname: 'h', os: 'linux', kernel: 'k', arch: 'x64', cpuCount: 1, memoryBytes: 1 });
const defaultDockerFacts = async () => ({ reachable: false, version: '', apiVersion: '', error: 'x' });

function setup(hostFacts = vi.fn(defaultHostFacts), dockerFacts = vi.fn(defaultDockerFacts)) {
  const sent: AgentMessage['payload'][] = [];
  const entries = new Map<string, CachedResult>();
  const cache = {
    get: (id: string) => entries.get(id),
    remember: async (id: string, result: CachedResult) => void entries.set(id, result),
  };
  const runner = createCommandRunner({
    cache,
    handlers: { hostFacts, docker: { facts: dockerFacts }, proxyAdminUrl: 'http://127.0.0.1:2019' },
    send: (payload) => {
      sent.push(payload);
      return true;
    },
    clock: () => now,
    log,
  });
  const results = () => sent.filter((p) => p.case === 'commandResult').map((p) => p.value as CommandResult);
  return { runner, sent, results, hostFacts, dockerFacts, entries };
}

const command = (commandId: string, kind: string, deadline?: Date) =>
  create(CommandSchema, {
    commandId,
    kind,
    issuedAt: timestampFromDate(new Date(now.getTime() - 1_000)),
    deadline: deadline ? timestampFromDate(deadline) : undefined,
  });

describe('command runner', () => {
  it('acknowledges at once, then sends the result, and caches it', async () => {
    const { runner, sent, results, entries } = setup();
    await runner.handle(command('cmd_1', commandKind.hostFacts));
    expect(sent.map((p) => p.case)).toEqual(['commandAck', 'commandResult']);
    expect(results()[0]).toMatchObject({ commandId: 'cmd_1', succeeded: true });
    expect(JSON.parse(new TextDecoder().decode(results()[0]!.resultJson))).toMatchObject({ hostname: 'h' });
    expect(entries.has('cmd_1')).toBe(true);
  });

  it('answers a resent command id from the replay cache without running the handler again', async () => {
    const { runner, sent, results, hostFacts } = setup();
    await runner.handle(command('cmd_1', commandKind.hostFacts));
    await runner.handle(command('cmd_1', commandKind.hostFacts));
    expect(hostFacts).toHaveBeenCalledTimes(1);
    expect(sent.map((p) => p.case)).toEqual(['commandAck', 'commandResult', 'commandAck', 'commandResult']);
    expect(results()[1]).toEqual(results()[0]);
  });

  it('does not start a resend of a command that is still running; one run, one result per delivery', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { runner, sent, dockerFacts } = setup(
      vi.fn(defaultHostFacts),
      vi.fn(async () => {
        await gate;
        return { reachable: true, version: '1', apiVersion: '1', error: '' };
      }),
    );
    const slow = command('cmd_slow', commandKind.dockerInfo);
    const first = runner.handle(slow);
    const second = runner.handle(slow);
    release();
    await Promise.all([first, second]);
    expect(dockerFacts).toHaveBeenCalledTimes(1);
    expect(sent.map((p) => p.case)).toEqual(['commandAck', 'commandAck', 'commandResult']);
  });

  it('fails a command whose deadline has passed with deadline_exceeded, without running it', async () => {
    const { runner, results, hostFacts } = setup();
    await runner.handle(command('cmd_late', commandKind.hostFacts, new Date(now.getTime() - 1)));
    expect(hostFacts).not.toHaveBeenCalled();
    expect(results()[0]).toMatchObject({ commandId: 'cmd_late', succeeded: false, errorCode: 'deadline_exceeded' });
  });

  it('runs a command whose deadline is still ahead', async () => {
    const { runner, results } = setup();
    await runner.handle(command('cmd_ok', commandKind.hostFacts, new Date(now.getTime() + 60_000)));
    expect(results()[0]).toMatchObject({ succeeded: true, errorCode: '' });
  });

  it('answers an unknown kind with a failed result unknown_command, and caches that too', async () => {
    const { runner, results, entries } = setup();
    await runner.handle(command('cmd_new', 'deploy.v9'));
    expect(results()[0]).toMatchObject({ commandId: 'cmd_new', succeeded: false, errorCode: 'unknown_command' });
    expect(entries.get('cmd_new')?.errorCode).toBe('unknown_command');
  });

  it('turns a handler that throws into a failed result handler_failed', async () => {
    const { runner, results } = setup(
      vi.fn(() => {
        throw new Error('boom');
      }),
    );
    await runner.handle(command('cmd_boom', commandKind.hostFacts));
    expect(results()[0]).toMatchObject({ succeeded: false, errorCode: 'handler_failed', errorMessage: 'boom' });
  });

  it('rejects a payload that is not JSON with invalid_payload', async () => {
    const { runner, results } = setup();
    await runner.handle({
      ...command('cmd_bad', commandKind.hostFacts),
      payloadJson: new TextEncoder().encode('{nope'),
    });
    expect(results()[0]).toMatchObject({ succeeded: false, errorCode: 'invalid_payload' });
  });
});
