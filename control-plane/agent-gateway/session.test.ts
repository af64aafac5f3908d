import { X509Certificate } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CertificateRequestSchema, EventSchema, HeartbeatSchema } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { createCertificateAuthority, createCertificateRequest, generateKeyPair } from '../../shared/pki.js';
import { type GatewayFixture, startGatewayFixture } from '../../test/helpers/gateway-fixture.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(async () => f?.close());

describe('agent session', () => {
  it('marks the server connected with its facts and answers the Hello with a Welcome', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    const welcome = await agent.connect();
    expect(welcome.sessionId).toMatch(/^ags-/);
    expect(welcome.heartbeatIntervalMs).toBe(100);
    expect(welcome.unreachableAfterMs).toBe(400);
    expect(Math.abs(Number(welcome.serverTime?.seconds) * 1000 - Date.now())).toBeLessThan(5000);
    expect(agent.received[0]).toMatchObject({ seq: 1n, ack: 1n });

    const row = await f.server(serverId);
    expect(row).toMatchObject({
      connectionState: 'connected',
      agentVersion: '0.1.0-test',
      dockerVersion: '20.10.24',
      dockerReachable: true,
      hostFacts: { hostname: 'fake-host', os: 'linux', arch: 'x64', cpuCount: 4, memoryBytes: 8 * 1024 ** 3 },
    });
    expect(row.connectedSince).toBeInstanceOf(Date);
    expect(row.lastSeenAt).toBeInstanceOf(Date);
    expect(f.gateway.connectedServerIds()).toContain(serverId);

    await agent.heartbeat();
    const acks = agent.received.filter((message) => message.payload.case === 'heartbeatAck');
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.at(-1)!.ack).toBeGreaterThan(1n);
  });

  it('marks a silent server unreachable within unreachableAfterMs plus one sweep', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId, { autoHeartbeat: false });
    await agent.connect();
    const silentSince = Date.now();
    await f.waitUntil(async () => (await f.server(serverId)).connectionState === 'unreachable', 3000);
    expect(Date.now() - silentSince).toBeLessThan(f.unreachableAfterMs + 1000 + 500);
    const ended = await agent.ended;
    expect(ended.code).toBe(status.UNAVAILABLE);
    expect(ended.details).toContain('no message from the agent');
    await vi.waitFor(() => expect(f.gateway.connectedServerIds()).not.toContain(serverId), { timeout: 2000 });
  });

  it('marks the server unreachable at once when the agent closes its stream', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    await agent.connect();
    const closed = await agent.close();
    expect(closed.code).toBe(status.OK);
    await f.waitUntil(async () => (await f.server(serverId)).connectionState === 'unreachable', 1000);
    // The close itself marked it, not the liveness sweep (which needs 400 ms of silence).
    const lines = f.logs.filter((line) => line.includes(serverId));
    expect(lines.some((line) => line.includes('the agent closed the stream'))).toBe(true);
    expect(lines.some((line) => line.includes('no message from the agent'))).toBe(false);
  });

  it('refuses a client certificate from another CA at the TLS handshake', async () => {
    const serverId = await f.createServer();
    const stranger = await createCertificateAuthority('Somebody else', 30);
    const credentials = await f.issueCredentials(serverId, { ca: stranger });
    const agent = await f.agent(serverId, credentials);
    await expect(agent.connect()).rejects.toThrow(/stream ended/);
    expect((await agent.ended).code).toBe(status.UNAVAILABLE);
    expect((await f.server(serverId)).connectionState).toBe('never-connected');
  });

  it('refuses a Hello that names another server than the certificate', async () => {
    const serverId = await f.createServer();
    const otherId = await f.createServer();
    const agent = await f.agent(serverId, { helloServerId: otherId });
    await expect(agent.connect()).rejects.toThrow(/PERMISSION_DENIED/);
    const ended = await agent.ended;
    expect(ended.details).toContain(otherId);
    expect(ended.details).toContain(serverId);
    expect((await f.server(serverId)).connectionState).toBe('never-connected');
    expect((await f.server(otherId)).connectionState).toBe('never-connected');
  });

  it('refuses a stream whose first message is not a Hello', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    agent.send({ case: 'heartbeat', value: create(HeartbeatSchema) });
    const ended = await agent.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(ended.details).toContain('must be a Hello');
  });

  it('ends a stream whose seq goes backwards and keeps serving other agents', async () => {
    const [badId, goodId] = [await f.createServer(), await f.createServer()];
    const bad = await f.agent(badId, { autoHeartbeat: false });
    const good = await f.agent(goodId);
    await Promise.all([bad.connect(), good.connect()]);
    await bad.heartbeat();
    bad.send({ case: 'heartbeat', value: create(HeartbeatSchema) }, 1n);
    const ended = await bad.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(ended.details).toBe('seq went backwards: got 1 after 2');
    expect(f.logs.some((line) => line.includes('seq went backwards') && line.includes(badId))).toBe(true);
    await f.waitUntil(async () => (await f.server(badId)).connectionState === 'unreachable');
    expect((await f.server(badId)).agentVersion).toBe('0.1.0-test');
    await good.heartbeat();
    expect((await f.server(goodId)).connectionState).toBe('connected');
  });

  it('refuses a message over 1 MiB and keeps serving other agents', async () => {
    const [bigId, otherId] = [await f.createServer(), await f.createServer()];
    const big = await f.agent(bigId);
    const other = await f.agent(otherId);
    await Promise.all([big.connect(), other.connect()]);
    const attributes = { blob: 'x'.repeat(1024 * 1024 + 1) };
    big.send({ case: 'event', value: create(EventSchema, { kind: 'test.big', attributes }) });
    expect((await big.ended).code).toBe(status.RESOURCE_EXHAUSTED);
    await f.waitUntil(async () => (await f.server(bigId)).connectionState === 'unreachable');
    await other.heartbeat();
    expect((await f.server(otherId)).connectionState).toBe('connected');
  });

  it('replaces the first connection when the same server connects again', async () => {
    const serverId = await f.createServer();
    const first = await f.agent(serverId);
    await first.connect();
    const second = await f.agent(serverId);
    const welcome = await second.connect();
    const ended = await first.ended;
    expect(ended.code).toBe(status.ALREADY_EXISTS);
    expect(ended.details).toContain('replaced by a newer connection');
    await second.heartbeat();
    // The old stream's end must not mark the server unreachable: the new one serves it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await f.server(serverId)).connectionState).toBe('connected');
    expect(f.gateway.connectedServerIds().filter((id) => id === serverId)).toHaveLength(1);
    expect(welcome.sessionId).not.toBe(first.payloads('welcome')[0]!.sessionId);
  });

  it('answers a CertificateRequest with a certificate for this server, and a bad CSR with an error', async () => {
    const serverId = await f.createServer();
    const agent = await f.agent(serverId);
    await agent.connect();
    const { keys } = await generateKeyPair();
    // The CSR asks for another name: the control plane decides the identity.
    const csrPem = await createCertificateRequest(keys, 'srv-somebody-else');
    agent.send({ case: 'certificateRequest', value: create(CertificateRequestSchema, { csrPem }) });
    const issued = await agent.waitFor((m) => (m.payload.case === 'certificateIssued' ? m.payload.value : undefined));
    expect(issued.error).toBe('');
    const certificate = new X509Certificate(issued.certificatePem);
    expect(certificate.subject).toBe(`CN=${serverId}`);
    expect(certificate.checkIssued(new X509Certificate(f.ca.certificatePem))).toBe(true);
    const row = await f.server(serverId);
    expect(row.certificateSerial?.replace(/^0+/, '')).toBe(certificate.serialNumber.toLowerCase().replace(/^0+/, ''));
    expect(row.certificateNotAfter?.getTime()).toBe(Number(issued.notAfter?.seconds) * 1000);

    agent.send({ case: 'certificateRequest', value: create(CertificateRequestSchema, { csrPem: 'not a csr' }) });
    const refused = await agent.waitFor((m) =>
      m.payload.case === 'certificateIssued' && m.payload.value.error !== '' ? m.payload.value : undefined,
    );
    expect(refused.certificatePem).toBe('');
    expect(refused.error).toMatch(/PKCS#10/);
    await agent.heartbeat();
  });
});
