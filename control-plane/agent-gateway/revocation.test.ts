import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newId } from '../../shared/ids.js';
import { type GatewayFixture, startGatewayFixture } from '../../test/helpers/gateway-fixture.js';
import { Server } from '../modules/servers/entity.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(async () => f?.close());

const update = (serverId: string, data: Partial<Server>) =>
  f.orm.em.fork().nativeUpdate(Server, { id: serverId }, data);

describe('agent revocation', () => {
  it('ends a live session with Revoked within 5 s when the server is deactivated, and refuses a reconnect', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    await agent.connect();
    const deactivatedAt = Date.now();
    await update(serverId, { lifecycleStatus: 'inactive', deactivatedAt: new Date() });
    const ended = await agent.ended;
    expect(Date.now() - deactivatedAt).toBeLessThan(5000);
    expect(ended.code).toBe(status.PERMISSION_DENIED);
    expect(agent.payloads('revoked').map((r) => r.reason)).toEqual(['the server was deactivated']);
    await f.waitUntil(async () => (await f.server(serverId)).connectionState === 'unreachable');

    const again = await f.agent(serverId);
    await expect(again.connect()).rejects.toThrow(/expected a Welcome, got revoked/);
    expect((await again.ended).code).toBe(status.PERMISSION_DENIED);
    expect((await f.server(serverId)).connectionState).toBe('unreachable');
  });

  it('ends a live session when its credentials are revoked, and accepts a certificate issued after that', async () => {
    const serverId = await f.createServer();
    const old = await f.issueCredentials(serverId, { now: new Date(Date.now() - 10_000) });
    const agent = await f.agent(serverId, old);
    await agent.connect();
    const revokedAt = new Date();
    await update(serverId, { credentialsRevokedAt: revokedAt });
    const ended = await agent.ended;
    expect(Date.now() - revokedAt.getTime()).toBeLessThan(5000);
    expect(ended.code).toBe(status.UNAUTHENTICATED);
    expect(agent.payloads('revoked').map((r) => r.reason)).toEqual(['a new credential was issued for this server']);

    const stale = await f.agent(serverId, old);
    await expect(stale.connect()).rejects.toThrow(/got revoked/);

    // Enrollment records the serial of the certificate it issues; that one is accepted even within the same second.
    const fresh = await f.issueCredentials(serverId);
    await update(serverId, { certificateSerial: fresh.serial });
    const renewed = await f.agent(serverId, fresh);
    await renewed.connect();
    await renewed.heartbeat();
    expect((await f.server(serverId)).connectionState).toBe('connected');
  });

  it('refuses an agent whose server the control plane does not know', async () => {
    const agent = await f.agent(newId('server'));
    await expect(agent.connect()).rejects.toThrow(/got revoked/);
    expect(agent.payloads('revoked')[0]?.reason).toMatch(/was deleted/);
    expect((await agent.ended).code).toBe(status.UNAUTHENTICATED);
  });

  it('ends the session of a server that is deleted while connected', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    await agent.connect();
    await f.orm.em.fork().nativeDelete(Server, { id: serverId });
    expect((await agent.ended).code).toBe(status.UNAUTHENTICATED);
    expect(agent.payloads('revoked')).toHaveLength(1);
    await vi.waitFor(() => expect(f.gateway.connectedServerIds()).not.toContain(serverId), { timeout: 2000 });
  });
});
