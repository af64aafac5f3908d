import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { agentServiceDefinition } from '../../shared/agent-service-definition.js';
import { commandKind, eventKind } from '../../shared/command-catalogue.js';
import {
  type AgentMessage,
  CertificateIssuedSchema,
  CommandSchema,
  type ControlMessage,
  ControlMessageSchema,
  RevokedSchema,
  WelcomeSchema,
} from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { createLogger } from '../../shared/logger.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createCertificateRequest,
  gatewayServerName,
  generateKeyPair,
  issueClientCertificate,
  issueGatewayCertificate,
} from '../../shared/pki.js';
import { type Agent, createAgent } from '../agent.js';
import type { DockerFactsJson } from '../docker/engine.js';
import { writeFileAtomic } from '../json-file.js';
import { readCredentials, statePaths, writeEnrollment } from '../state-dir.js';
import { ControlStream, type LinkState } from './control-stream.js';

type ControlPayload = Exclude<ControlMessage['payload'], { case: undefined }>;

/** One Connect stream as the fake gateway sees it. */
interface GatewaySession {
  call: grpc.ServerDuplexStream<AgentMessage, ControlMessage>;
  received: AgentMessage[];
  seq: bigint;
  /** The serial of the client certificate the agent connected with. */
  peerSerial: string | undefined;
  ended: boolean;
}

/**
 * A throwaway agent gateway: a real grpc-js server with mTLS, the shared service definition and a test CA. It
 * records every stream and lets the test send ControlMessages; `onHello` scripts the first answer.
 */
class FakeGateway {
  sessions: GatewaySession[] = [];
  onHello: (session: GatewaySession) => void = (session) => this.welcome(session);
  #server: grpc.Server | undefined;

  constructor(private readonly tls: { caPem: string; certPem: string; keyPem: string }) {}

  async listen(port = 0): Promise<number> {
    const server = new grpc.Server();
    server.addService(agentServiceDefinition, {
      connect: (call: grpc.ServerDuplexStream<AgentMessage, ControlMessage>) => {
        const session: GatewaySession = {
          call,
          received: [],
          seq: 0n,
          peerSerial: normalizeSerial(call.getAuthContext()?.sslPeerCertificate?.serialNumber),
          ended: false,
        };
        this.sessions.push(session);
        call.on('data', (message: AgentMessage) => {
          session.received.push(message);
          if (message.payload.case === 'hello') this.onHello(session);
        });
        call.on('end', () => {
          session.ended = true;
          call.end();
        });
        call.on('error', () => undefined);
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(this.tls.caPem),
      [{ cert_chain: Buffer.from(this.tls.certPem), private_key: Buffer.from(this.tls.keyPem) }],
      true,
    );
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, credentials, (error, actual) => (error ? reject(error) : resolve(actual))),
    );
    this.#server = server;
    return bound;
  }

  send(session: GatewaySession, payload: ControlPayload): void {
    session.seq += 1n;
    session.call.write(create(ControlMessageSchema, { seq: session.seq, payload }));
  }

  welcome(session: GatewaySession, sessionId = `ses_${this.sessions.length}`): void {
    this.send(session, {
      case: 'welcome',
      value: create(WelcomeSchema, {
        sessionId,
        heartbeatIntervalMs: 200,
        unreachableAfterMs: 600,
        serverTime: timestampFromDate(new Date()),
      }),
    });
  }

  /** Kills every stream and the listener at once, as a crashed control plane would. */
  kill(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
  }
}

// Node prints serials in upper case and may drop leading zeros; pki.ts keeps both.
const normalizeSerial = (serial: string | undefined) => serial?.toLowerCase().replace(/^0+/, '');
const of = (session: GatewaySession | undefined, kind: AgentMessage['payload']['case']) =>
  (session?.received ?? []).filter((m) => m.payload.case === kind);
const commandIdOf = (message: AgentMessage) => (message.payload.value as { commandId: string }).commandId;

let ca: CertificateAuthority;
let gatewayTls: { caPem: string; certPem: string; keyPem: string };
let stateDir: string;
let gateway: FakeGateway;
let agent: Agent | undefined;
const logLines: Array<Record<string, unknown>> = [];
const log = createLogger({
  level: 'debug',
  name: 'agent',
  destination: new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  }),
});

beforeAll(async () => {
  ca = await createCertificateAuthority('Berth test CA', 1);
  const gatewayCertificate = await issueGatewayCertificate(ca, 1);
  gatewayTls = {
    caPem: ca.certificatePem,
    certPem: gatewayCertificate.certificatePem,
    keyPem: gatewayCertificate.privateKeyPem,
  };
});

beforeEach(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'berth-agent-link-'));
  gateway = new FakeGateway(gatewayTls);
  logLines.length = 0;
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  gateway.kill();
  await rm(stateDir, { recursive: true, force: true });
});

/** Enrolls the state folder for `srv_test` against `port`, with a client certificate issued `issuedDaysAgo`. */
async function enrollFor(port: number, lifetimeDays = 1, issuedDaysAgo = 0): Promise<string> {
  const { keys, privateKeyPem } = await generateKeyPair();
  const issuedAt = new Date(Date.now() - issuedDaysAgo * 86_400_000);
  const csr = await createCertificateRequest(keys, 'anything');
  const certificate = await issueClientCertificate(ca, csr, 'srv_test', lifetimeDays, issuedAt);
  await writeEnrollment(
    statePaths(stateDir),
    {
      controlPlaneUrl: 'http://127.0.0.1:9',
      grpcUrl: `127.0.0.1:${port}`,
      grpcServerName: gatewayServerName,
      serverId: 'srv_test',
      enrolledAt: new Date().toISOString(),
    },
    { keyPem: privateKeyPem, certPem: certificate.certificatePem, caPem: ca.certificatePem },
  );
  return normalizeSerial(certificate.serialNumber)!;
}

function startAgent(docker: { facts: () => Promise<DockerFactsJson> }, hostFacts = vi.fn(() => fixedHost)) {
  agent = createAgent(
    { stateDir, dockerHost: { socketPath: '/nonexistent/docker.sock' }, caddyAdminUrl: 'http://127.0.0.1:1' },
    {
      log,
      docker: { ...docker, ping: async () => undefined, version: async () => ({ version: '', apiVersion: '' }) },
      hostFacts,
      timing: { backoff: { baseMs: 20, capMs: 100 }, dockerCheckMs: 30, goodbyeTimeoutMs: 500 },
    },
  );
  return { agent, hostFacts };
}

const fixedHost = { hostname: 'web-1', os: 'linux', kernel: '6.1.0', arch: 'x64', cpuCount: 2, memoryBytes: 4096 };
const dockerUp: DockerFactsJson = { reachable: true, version: '20.10.24', apiVersion: '1.41', error: '' };
const dockerDown: DockerFactsJson = { reachable: false, version: '', apiVersion: '', error: 'no Docker engine' };
const waitOptions = { timeout: 3_000, interval: 10 };

describe('the agent link over real gRPC with mTLS', () => {
  it('says hello, heartbeats, runs a command once, reconnects by itself and answers the resend from the replay cache', async () => {
    const port = await gateway.listen();
    await enrollFor(port);
    let docker = dockerUp;
    const { agent: running, hostFacts } = startAgent({ facts: async () => docker });
    await running.start();

    // Session 1: Hello first, then Welcome, heartbeats, the agent.started event from the spool.
    await vi.waitFor(() => expect(running.status().state).toBe('open'), waitOptions);
    const first = gateway.sessions[0]!;
    const hello = first.received[0]!;
    expect(hello).toMatchObject({ seq: 1n, ack: 0n });
    expect(hello.payload.case).toBe('hello');
    expect(hello.payload.value).toMatchObject({
      serverId: 'srv_test',
      capabilities: ['host-facts', 'docker-info', 'deployments'],
      host: { hostname: 'web-1', os: 'linux', kernel: '6.1.0', arch: 'x64', cpuCount: 2, memoryBytes: 4096n },
      docker: { reachable: true, version: '20.10.24', apiVersion: '1.41' },
      lastAckSeen: 0n,
    });
    await vi.waitFor(() => expect(of(first, 'heartbeat').length).toBeGreaterThanOrEqual(2), waitOptions);
    expect(of(first, 'event').map((m) => (m.payload.value as { kind: string }).kind)).toContain(eventKind.agentStarted);

    const command = create(CommandSchema, {
      commandId: 'cmd_01',
      kind: commandKind.hostFacts,
      issuedAt: timestampFromDate(new Date()),
      deadline: timestampFromDate(new Date(Date.now() + 60_000)),
    });
    gateway.send(first, { case: 'command', value: command });
    await vi.waitFor(() => expect(of(first, 'commandResult')).toHaveLength(1), waitOptions);
    expect(of(first, 'commandAck').map(commandIdOf)).toEqual(['cmd_01']);
    const result = of(first, 'commandResult')[0]!.payload.value as { succeeded: boolean; resultJson: Uint8Array };
    expect(result.succeeded).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(result.resultJson))).toEqual(fixedHost);
    // Envelopes are numbered 1, 2, 3… without gaps, and acknowledge the gateway's highest seq (Welcome 1, Command 2).
    expect(first.received.map((m) => m.seq)).toEqual(first.received.map((_, i) => BigInt(i + 1)));
    expect(of(first, 'commandResult')[0]!.ack).toBe(2n);

    // The control plane dies. Docker goes away meanwhile: the event waits in the spool.
    gateway.kill();
    await vi.waitFor(() => expect(running.status().state).toMatch(/backoff|connecting/), waitOptions);
    docker = dockerDown;
    await vi.waitFor(() => expect(running.status().spool.queued).toBe(1), waitOptions);

    // It comes back on the same port; the agent reconnects by itself.
    await gateway.listen(port);
    await vi.waitFor(() => expect(gateway.sessions).toHaveLength(2), waitOptions);
    const second = gateway.sessions[1]!;
    await vi.waitFor(() => expect(running.status()).toMatchObject({ state: 'open', sessionId: 'ses_2' }), waitOptions);
    expect(second.received[0]!.payload.value).toMatchObject({ lastAckSeen: 2n });
    await vi.waitFor(() => expect(of(second, 'event')).toHaveLength(1), waitOptions);
    expect(of(second, 'event')[0]!.payload.value).toMatchObject({
      kind: eventKind.dockerUnreachable,
      attributes: { error: 'no Docker engine' },
    });

    // The command is resent with the same id: acknowledged and answered from the cache, not run again.
    // (Every Hello reads the host facts too, so count from here, with the second stream open.)
    const readsBeforeResend = hostFacts.mock.calls.length;
    gateway.send(second, { case: 'command', value: command });
    await vi.waitFor(() => expect(of(second, 'commandResult')).toHaveLength(1), waitOptions);
    expect(of(second, 'commandAck').map(commandIdOf)).toEqual(['cmd_01']);
    expect(of(second, 'commandResult')[0]!.payload.value).toMatchObject({ commandId: 'cmd_01', succeeded: true });
    expect((of(second, 'commandResult')[0]!.payload.value as { resultJson: Uint8Array }).resultJson).toEqual(
      result.resultJson,
    );
    expect(hostFacts.mock.calls.length).toBe(readsBeforeResend);

    // A clean stop says Goodbye and leaves a status that says so.
    await running.stop();
    agent = undefined;
    expect(of(second, 'goodbye')[0]!.payload.value).toMatchObject({ reason: 'shutdown' });
    await vi.waitFor(() => expect(second.ended).toBe(true), waitOptions);
    const status = JSON.parse(await readFile(statePaths(stateDir).status, 'utf8')) as Record<string, unknown>;
    expect(status).toMatchObject({ state: 'stopped', serverId: 'srv_test', spool: { queued: 0, dropped: 0 } });
  });

  it('stops reconnecting for good when the control plane revokes it, logging the reason as an error', async () => {
    const port = await gateway.listen();
    await enrollFor(port);
    gateway.onHello = (session) => {
      gateway.send(session, {
        case: 'revoked',
        value: create(RevokedSchema, { reason: 'server deleted by admin@example.com' }),
      });
      session.call.end();
    };
    const { agent: running } = startAgent({ facts: async () => dockerUp });
    await running.start();

    expect(await running.finished()).toBe('revoked');
    expect(running.status()).toMatchObject({
      state: 'revoked',
      lastError: 'revoked: server deleted by admin@example.com',
    });
    const errors = logLines.filter((line) => line['level'] === 'error');
    expect(errors.map((line) => line['reason'])).toContain('server deleted by admin@example.com');
    // Ten backoff ceilings later there is still only the one stream.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(gateway.sessions).toHaveLength(1);
  });

  it('logs a failure once per kind while retrying with backoff', async () => {
    const port = await gateway.listen();
    gateway.kill(); // a port where nothing listens
    await enrollFor(port);
    const { agent: running } = startAgent({ facts: async () => dockerUp });
    await running.start();

    await vi.waitFor(() => expect(running.status().reconnectAttempt).toBeGreaterThanOrEqual(5), waitOptions);
    const warnings = logLines.filter(
      (line) => line['msg'] === 'link to the control plane failed; retrying with backoff',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ kind: 'unavailable' });
    expect(running.status().lastError).toMatch(/^unavailable: /);
  });

  it('renews a certificate in its last third over the link and connects with the new one next time', async () => {
    const port = await gateway.listen();
    // Valid for 3 days, issued 2.5 days ago: 0.5 days left, less than a third.
    const oldSerial = await enrollFor(port, 3, 2.5);
    let newSerial: string | undefined;
    gateway.onHello = (session) => {
      gateway.welcome(session);
      session.call.on('data', async (message: AgentMessage) => {
        if (message.payload.case !== 'certificateRequest') return;
        const issued = await issueClientCertificate(ca, message.payload.value.csrPem, 'srv_test', 3);
        newSerial = normalizeSerial(issued.serialNumber);
        gateway.send(session, {
          case: 'certificateIssued',
          value: create(CertificateIssuedSchema, {
            certificatePem: issued.certificatePem,
            notAfter: timestampFromDate(issued.notAfter),
          }),
        });
      });
    };
    const { agent: running } = startAgent({ facts: async () => dockerUp });
    await running.start();

    await vi.waitFor(async () => {
      expect(newSerial).toBeDefined();
      expect(await readFile(statePaths(stateDir).certPem, 'utf8')).toContain('BEGIN CERTIFICATE');
      expect(logLines.map((line) => line['msg'])).toContain(
        'client certificate renewed; used from the next connection',
      );
    }, waitOptions);
    expect(gateway.sessions[0]!.peerSerial).toBe(oldSerial);

    gateway.kill();
    await gateway.listen(port);
    await vi.waitFor(() => expect(gateway.sessions).toHaveLength(2), waitOptions);
    expect(gateway.sessions[1]!.peerSerial).toBe(newSerial);
  });

  it('backfills events spooled before a restart, in order, then reports how many were dropped', async () => {
    const port = await gateway.listen();
    await enrollFor(port);
    const spooled = {
      kind: eventKind.dockerUnreachable,
      observedAt: '2025-01-01T00:00:00.000Z',
      attributes: { error: 'x' },
    };
    await writeFileAtomic(statePaths(stateDir).spool, JSON.stringify({ version: 1, dropped: 5, events: [spooled] }));
    const { agent: running } = startAgent({ facts: async () => dockerUp });
    await running.start();

    await vi.waitFor(() => expect(of(gateway.sessions[0], 'event')).toHaveLength(3), waitOptions);
    const events = of(gateway.sessions[0], 'event').map((m) => m.payload.value as { kind: string; attributes: object });
    expect(events.map((e) => e.kind)).toEqual([
      eventKind.dockerUnreachable,
      eventKind.agentStarted,
      eventKind.spoolDropped,
    ]);
    expect(events[2]!.attributes).toEqual({ count: '5' });
    await vi.waitFor(() => expect(running.status().spool).toEqual({ queued: 0, dropped: 0 }), waitOptions);
  });

  it('starts the backoff over after a session that held for resetBackoffAfterMs, not after a short one', async () => {
    const port = await gateway.listen();
    gateway.kill();
    await enrollFor(port);
    const states: LinkState[] = [];
    const stream = new ControlStream({
      loadTarget: async () => ({
        address: `127.0.0.1:${port}`,
        serverName: gatewayServerName,
        ...(await readCredentials(statePaths(stateDir))),
      }),
      hello: async () => ({ serverId: 'srv_test', agentVersion: '0.0.0', capabilities: [], host: {}, docker: {} }),
      onMessage: () => undefined,
      onStateChange: (state) => states.push(state),
      log,
      clock: () => new Date(),
      random: () => 0.5,
      backoff: { baseMs: 20, capMs: 40 },
      resetBackoffAfterMs: 150,
    });
    const attempts = () => states.filter((s) => s.t === 'backoff').map((s) => (s as { attempt: number }).attempt);
    try {
      stream.start();
      await vi.waitFor(() => expect(Math.max(0, ...attempts())).toBeGreaterThanOrEqual(4), waitOptions);

      // A session that stays open longer than resetBackoffAfterMs: the next failure is attempt 1 again.
      await gateway.listen(port);
      await vi.waitFor(() => expect(stream.state.t).toBe('open'), waitOptions);
      await new Promise((resolve) => setTimeout(resolve, 200));
      let seen = attempts().length;
      gateway.kill();
      await vi.waitFor(() => expect(attempts().length).toBeGreaterThan(seen), waitOptions);
      expect(attempts()[seen]).toBe(1);

      // A session that drops at once does not reset it: the count goes on from where it was.
      await vi.waitFor(() => expect(Math.max(...attempts().slice(seen))).toBeGreaterThanOrEqual(3), waitOptions);
      await gateway.listen(port);
      await vi.waitFor(() => expect(stream.state.t).toBe('open'), waitOptions);
      const before = Math.max(...attempts().slice(seen));
      seen = attempts().length;
      gateway.kill();
      await vi.waitFor(() => expect(attempts().length).toBeGreaterThan(seen), waitOptions);
      expect(attempts()[seen]).toBe(before + 1);
    } finally {
      await stream.stop();
    }
  });
});
