import { create } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandResultSchema } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { createFakeAgentMemory } from '../../test/helpers/fake-agent.js';
import { type GatewayFixture, startGatewayFixture } from '../../test/helpers/gateway-fixture.js';
import { AgentCommand } from '../modules/agent-commands/entity.js';
import { createCommandService } from '../modules/agent-commands/service.js';
import { listenerApplicationName } from './notifications.js';

let f: GatewayFixture;
const commands = createCommandService({ now: () => new Date(), pollIntervalMs: 20 });

beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(async () => f?.close());

const enqueue = (serverId: string, kind: string, payload: Record<string, unknown> = {}, timeoutMs = 5000) =>
  commands.enqueue(f.orm.em.fork(), serverId, kind, payload, timeoutMs);
const row = (commandId: string) => f.orm.em.fork().findOneOrFail(AgentCommand, commandId);

describe('agent commands', () => {
  it('sends a queued command, records its ack and stores its result', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    await agent.connect();
    const command = await enqueue(serverId, 'host.facts', { verbose: true });
    const outcome = await commands.waitForOutcome(f.orm.em.fork(), command.id);
    expect(outcome).toEqual({
      commandId: command.id,
      state: 'succeeded',
      result: { ran: 'host.facts' },
      errorCode: null,
      errorMessage: null,
    });
    const [sent] = agent.payloads('command');
    expect(sent).toMatchObject({ commandId: command.id, kind: 'host.facts' });
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
    const command = await enqueue(serverId, 'deploy');
    const outcome = await commands.waitForOutcome(f.orm.em.fork(), command.id);
    expect(outcome).toMatchObject({ state: 'failed', errorCode: 'image_pull_failed', errorMessage: 'no such image' });
  });

  it('delivers commands queued while the server was disconnected, in issue order, after it connects', async () => {
    const serverId = await f.createServer();
    const first = await enqueue(serverId, 'first');
    const second = await enqueue(serverId, 'second');
    expect((await row(first.id)).state).toBe('queued');
    const agent = await f.agent(serverId);
    await agent.connect();
    const outcomes = await Promise.all([first, second].map((c) => commands.waitForOutcome(f.orm.em.fork(), c.id)));
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
    const command = await enqueue(serverId, 'restart');
    await lossy.waitFor((m) => (m.payload.case === 'command' ? true : undefined));
    await lossy.dispose();
    await f.waitUntil(async () => (await f.server(serverId)).connectionState === 'unreachable');
    expect(await row(command.id)).toMatchObject({ state: 'sent', sendCount: 1 });

    const again = await f.agent(serverId, { memory });
    await again.connect();
    const outcome = await commands.waitForOutcome(f.orm.em.fork(), command.id);
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
    const command = await enqueue(serverId, 'slow', {}, 200);
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
    const foreign = await enqueue(otherServerId, 'not-yours');
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
    const command = await enqueue(serverId, 'host.facts');
    expect((await commands.waitForOutcome(f.orm.em.fork(), command.id)).state).toBe('succeeded');
    await f.waitUntil(() => f.logs.some((line) => line.includes('command notification connection')));
  });
});
