import { create } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandKind, commandKind } from '../../shared/command-catalogue.js';
import { CommandResultSchema } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { sampleResults } from '../../test/helpers/command-samples.js';
import { createFakeAgentMemory } from '../../test/helpers/fake-agent.js';
import { type GatewayFixture, startGatewayFixture } from '../../test/helpers/gateway-fixture.js';
import { listenerApplicationName } from '../db/notify-hub.js';
import { AgentCommand } from '../modules/agent-commands/entity.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(async () => f?.close());

const enqueue = (serverId: string, kind: CommandKind, payload: Record<string, unknown> = {}, timeoutMs = 5000) =>
  f.commands.enqueue(f.orm.em.fork(), serverId, kind, payload as never, timeoutMs);
const waitForOutcome = (command: { id: string; kind: CommandKind }) =>
  f.commands.waitForOutcome(f.orm.em.fork(), command);
const row = (commandId: string) => f.orm.em.fork().findOneOrFail(AgentCommand, commandId);

describe('agent commands', () => {
  it('sends a queued command, records its ack and stores its result', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    await agent.connect();
    const command = await enqueue(serverId, commandKind.hostFacts, { verbose: true });
    const outcome = await waitForOutcome(command);
    expect(outcome).toEqual({
      commandId: command.id,
      state: 'succeeded',
      result: sampleResults[commandKind.hostFacts],
      errorCode: null,
      errorMessage: null,
    });
    const [sent] = agent.payloads('command');
    expect(sent).toMatchObject({ commandId: command.id, kind: commandKind.hostFacts });
    expect(JSON.parse(new TextDecoder().decode(sent!.payloadJson))).toEqual({ verbose: true });
    expect(timestampDate(sent!.deadline!).getTime()).toBe(command.deadline.getTime());
    expect(timestampDate(sent!.issuedAt!).getTime()).toBe(command.issuedAt.getTime());
    const stored = await row(command.id);
    expect(stored).toMatchObject({ state: 'succeeded', sendCount: 1 });
    expect(stored.sentAt).toBeInstanceOf(Date);
    expect(stored.acknowledgedAt).toBeInstanceOf(Date);
    expect(stored.completedAt).toBeInstanceOf(Date);
  });

  it('stores a failed outcome with its error code and message', async () => {
    const serverId = await f.createServer();
    const execute = () => ({ succeeded: false, errorCode: 'image_pull_failed', errorMessage: 'no such image' });
    const agent = await f.agent(serverId, { execute });
    await agent.connect();
    const command = await enqueue(serverId, commandKind.dockerInfo);
    const outcome = await waitForOutcome(command);
    expect(outcome).toMatchObject({ state: 'failed', errorCode: 'image_pull_failed', errorMessage: 'no such image' });
  });

  it("fails a command whose result does not match its kind's schema with invalid_result, naming the field", async () => {
    const serverId = await f.createServer();
    const execute = () => ({ succeeded: true, result: { reachable: 'yes' } });
    const agent = await f.agent(serverId, { execute });
    await agent.connect();
    const command = await enqueue(serverId, commandKind.dockerInfo);
    const outcome = await waitForOutcome(command);
    expect(outcome).toMatchObject({ state: 'failed', errorCode: 'invalid_result' });
    expect(outcome.errorMessage).toContain('reachable');
  });

  it('delivers commands queued while the server was disconnected, in issue order, after it connects', async () => {
    const serverId = await f.createServer();
    const first = await enqueue(serverId, commandKind.dockerInfo);
    const second = await enqueue(serverId, commandKind.proxyCheck);
    expect((await row(first.id)).state).toBe('queued');
    const agent = await f.agent(serverId);
    await agent.connect();
    const outcomes = await Promise.all([first, second].map((c) => waitForOutcome(c)));
    expect(outcomes.map((outcome) => outcome.state)).toEqual(['succeeded', 'succeeded']);
    expect(agent.payloads('command').map((c) => c.commandId)).toEqual([first.id, second.id]);
  });

  it('resends an unacknowledged command after a reconnect with the same id and completes it exactly once', async () => {
    const serverId = await f.createServer();
    const memory = createFakeAgentMemory();
    const lossy = await f.agent(serverId, { memory });
    // The agent runs the command but the link breaks before its ack and result get out.
    lossy.respond = false;
    await lossy.connect();
    const command = await enqueue(serverId, commandKind.dockerInfo);
    await lossy.waitFor((m) => (m.payload.case === 'command' ? true : undefined));
    await lossy.dispose();
    await f.waitUntil(async () => (await f.server(serverId)).connectionState === 'unreachable');
    expect(await row(command.id)).toMatchObject({ state: 'sent', sendCount: 1 });

    const again = await f.agent(serverId, { memory });
    await again.connect();
    const outcome = await waitForOutcome(command);
    expect(outcome.state).toBe('succeeded');
    expect(again.payloads('command').map((c) => c.commandId)).toEqual([command.id]);
    expect(memory.executions.get(command.id)).toBe(1);
    expect(await row(command.id)).toMatchObject({ state: 'succeeded', sendCount: 2 });
  });

  it('expires a command whose deadline passes without an outcome, and ignores a late result', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    agent.respond = false;
    await agent.connect();
    const command = await enqueue(serverId, commandKind.dockerInfo, {}, 200);
    await f.waitUntil(async () => (await row(command.id)).state === 'expired', 2500);
    expect(await row(command.id)).toMatchObject({ state: 'expired', errorCode: 'deadline_exceeded' });
    expect((await row(command.id)).completedAt).toBeInstanceOf(Date);

    const commandId = command.id;
    agent.send({ case: 'commandResult', value: create(CommandResultSchema, { commandId, succeeded: true }) });
    await agent.heartbeat();
    expect((await row(command.id)).state).toBe('expired');
  });

  it('ignores a result for a command never sent to this server and keeps the stream up', async () => {
    const serverId = await f.createServer();
    const otherServerId = await f.createServer();
    const foreign = await enqueue(otherServerId, commandKind.dockerInfo);
    const agent = await f.agent(serverId);
    await agent.connect();
    for (const commandId of [foreign.id, 'cmd-does-not-exist']) {
      agent.send({ case: 'commandResult', value: create(CommandResultSchema, { commandId, succeeded: true }) });
    }
    await agent.heartbeat();
    expect((await row(foreign.id)).state).toBe('queued');
    for (const commandId of [foreign.id, 'cmd-does-not-exist']) {
      const warned = f.logs.some((line) => line.includes('"level":"warn"') && line.includes(commandId));
      expect(warned, `a warning naming ${commandId}`).toBe(true);
    }
    expect((await f.server(serverId)).connectionState).toBe('connected');
  });

  it('still delivers a command when the LISTEN connection was cut', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    await agent.connect();
    await f.orm.em
      .fork()
      .getConnection()
      .execute(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = ? and datname = current_database()',
        [listenerApplicationName],
      );
    const command = await enqueue(serverId, commandKind.hostFacts);
    expect((await waitForOutcome(command)).state).toBe('succeeded');
    await f.waitUntil(() => f.logs.some((line) => line.includes('the notification connection')));
  });
});
