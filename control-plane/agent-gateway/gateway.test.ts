import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandKind } from '../../shared/command-catalogue.js';
import { type GatewayFixture, startGatewayFixture } from '../../test/helpers/gateway-fixture.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(async () => f?.close());

describe('agent gateway replicas', () => {
  it('hands a server over to the replica its agent reconnected through, and sends commands from there', async () => {
    const replica = await f.startReplica();
    const serverId = await f.createServer();
    const first = await f.agent(serverId);
    await first.connect();
    const second = await f.agent(serverId, { port: replica.port });
    await second.connect();
    // The first replica learns of the newer connection from the row within a sweep.
    const ended = await first.ended;
    expect(ended.code).toBe(status.ALREADY_EXISTS);
    expect(ended.details).toContain('replaced by a newer connection');
    // The client may see its stream end a moment before the first replica has dropped the session from its registry.
    await vi.waitFor(() => expect(f.gateway.connectedServerIds()).not.toContain(serverId), { timeout: 2000 });
    expect(replica.gateway.connectedServerIds()).toEqual([serverId]);
    await second.heartbeat();
    expect((await f.server(serverId)).connectionState).toBe('connected');

    // A command queued anywhere is announced by NOTIFY and sent by the replica that holds the session.
    const command = await f.commands.enqueue(f.orm.em.fork(), serverId, commandKind.hostFacts, {}, 5000);
    expect((await f.commands.waitForOutcome(f.orm.em.fork(), command)).state).toBe('succeeded');
    expect(first.payloads('command')).toEqual([]);
    await second.close();
    await replica.gateway.stop();
  });
});

describe('agent gateway shutdown', () => {
  it('ends every stream with a reason to reconnect, records the disconnects and stops promptly', async () => {
    const serverIds = [await f.createServer(), await f.createServer()];
    const agents = await Promise.all(serverIds.map((id) => f.agent(id)));
    await Promise.all(agents.map((agent) => agent.connect()));
    expect(f.gateway.connectedServerIds().sort()).toEqual([...serverIds].sort());

    const stoppingAt = Date.now();
    await f.gateway.stop();
    expect(Date.now() - stoppingAt).toBeLessThan(2000);
    for (const agent of agents) {
      const ended = await agent.ended;
      expect(ended.code).toBe(status.UNAVAILABLE);
      expect(ended.details).toContain('shutting down');
    }
    for (const id of serverIds) expect((await f.server(id)).connectionState).toBe('unreachable');
    expect(f.gateway.connectedServerIds()).toEqual([]);
    // A second stop (the fixture's close) is harmless.
    await f.gateway.stop();
  });
});
