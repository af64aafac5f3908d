import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { createWritableIterable } from '@connectrpc/connect/protocol';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind } from '../../../shared/command-catalogue.js';
import {
  type AgentMessageSchema,
  AgentService,
  type ControlMessage,
  HelloSchema,
} from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { createCertificateRequest, generateKeyPair } from '../../../shared/pki.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { cleanUpDataDir, killAllBerthProcesses, makeDataDir } from '../helpers/berth-process.js';
import { Api, type ControlPlane, check, startControlPlane } from './control-plane.js';
import { eventually } from './processes.js';

/** What `POST /agent/enrollments` answers. */
interface Enrolled {
  serverId: string;
  certificatePem: string;
  caCertificatePem: string;
  grpcUrl: string;
  grpcServerName: string;
}

let db: TestDatabase | undefined;
let cp: ControlPlane | undefined;
let dataDir = '';
let api: Api;
let serverId = '';
let enrolled: Enrolled;
let keyPem = '';

/** The next message of `responses`, or a failure after `ms`. */
async function next(responses: AsyncIterator<ControlMessage>, ms = 5_000): Promise<ControlMessage> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ControlMessage within ${ms} ms`)), ms);
  });
  try {
    const result = await Promise.race([responses.next(), timeout]);
    if (result.done) throw new Error('the gateway ended the stream');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  dataDir = await makeDataDir();
  db = await createTestDatabase();
  cp = await startControlPlane(dataDir, { BERTH_DATABASE_URL: db.url });
  api = new Api(cp.url);
  await api.bootstrap();
  serverId = await api.createServer('interop-1');
  const { token } = await api.enrollment(serverId);
  // Enrolled the way the agent does it: a key pair made here, only a CSR sent.
  const pair = await generateKeyPair();
  keyPem = pair.privateKeyPem;
  const csrPem = await createCertificateRequest(pair.keys, 'interop');
  enrolled = await api.expect<Enrolled>(201, 'POST', '/agent/enrollments', {
    token,
    csrPem,
    agentVersion: 'connect-interop',
    hostname: 'interop-host',
  });
  expect(enrolled.serverId).toBe(serverId);
  expect(enrolled.grpcUrl).toBe(cp.grpcAddress);
}, 90_000);

afterAll(async () => {
  await cp?.berth.stop().catch(() => undefined);
  await killAllBerthProcesses();
  await db?.drop();
  if (dataDir) await cleanUpDataDir(dataDir); // never with an empty pattern: it would match every process
}, 60_000);

describe('a second gRPC implementation (connect-node) against the grpc-js agent gateway', () => {
  it('completes a session over mTLS: Hello → Welcome, Heartbeat → HeartbeatAck, commands answered', async () => {
    const transport = createGrpcTransport({
      baseUrl: `https://${enrolled.grpcUrl}`,
      // TLS with the enrolled client certificate; the gateway's certificate is checked against the agent CA under
      // the name every gateway certificate carries.
      nodeOptions: {
        ca: enrolled.caCertificatePem,
        key: keyPem,
        cert: enrolled.certificatePem,
        servername: enrolled.grpcServerName,
      },
      // No deadline on the long-lived stream (STACK.md P9); drop the idle connection soon after it ends.
      idleConnectionTimeoutMs: 500,
    });
    const client = createClient(AgentService, transport);
    const requests = createWritableIterable<MessageInitShape<typeof AgentMessageSchema>>();
    const abort = new AbortController();
    const responses = client.connect(requests, { signal: abort.signal })[Symbol.asyncIterator]();
    try {
      const hello = create(HelloSchema, {
        serverId,
        agentVersion: 'connect-interop',
        capabilities: ['docker-info'],
        host: {
          hostname: 'interop-host',
          os: 'linux',
          kernel: '6.1.0',
          arch: 'x64',
          cpuCount: 2,
          memoryBytes: 1n << 30n,
        },
        docker: { reachable: true, version: '20.10.24', apiVersion: '1.41' },
      });
      await requests.write({ seq: 1n, payload: { case: 'hello', value: hello } });
      const welcome = await next(responses);
      expect(welcome.payload.case).toBe('welcome');
      if (welcome.payload.case !== 'welcome') return;
      expect(welcome.payload.value.sessionId).toMatch(/^ags-/);
      expect(welcome.payload.value.heartbeatIntervalMs).toBe(5_000);
      expect(welcome.ack).toBe(1n);
      expect(await api.agent(serverId)).toMatchObject({
        connectionState: 'connected',
        agentVersion: 'connect-interop',
        dockerVersion: '20.10.24',
        host: { hostname: 'interop-host', cpuCount: 2 },
      });

      await requests.write({
        seq: 2n,
        ack: welcome.seq,
        payload: { case: 'heartbeat', value: { observedAt: timestampNow() } },
      });
      const ack = await next(responses);
      expect(ack.payload.case).toBe('heartbeatAck');
      expect(ack.ack).toBe(2n);

      // Commands flow the other way on the same stream: answer the connectivity test's two commands.
      const testing = api.connectivity(serverId);
      let seq = 2n;
      const results: Record<string, unknown> = {
        [commandKind.dockerInfo]: { reachable: true, version: '20.10.24', apiVersion: '1.41', error: '' },
        [commandKind.proxyCheck]: {
          reachable: false,
          adminUrl: 'http://127.0.0.1:2019',
          error: 'no edge proxy configured yet',
        },
      };
      for (let answered = 0; answered < 2; answered++) {
        const message = await next(responses);
        expect(message.payload.case).toBe('command');
        if (message.payload.case !== 'command') return;
        const { commandId, kind } = message.payload.value;
        const resultJson = new TextEncoder().encode(JSON.stringify(results[kind]));
        await requests.write({ seq: ++seq, ack: message.seq, payload: { case: 'commandAck', value: { commandId } } });
        await requests.write({
          seq: ++seq,
          ack: message.seq,
          payload: { case: 'commandResult', value: { commandId, succeeded: true, resultJson } },
        });
      }
      const result = await testing;
      expect(check(result, 'agent-session').status).toBe('passed');
      expect(check(result, 'docker-engine')).toMatchObject({ status: 'passed', message: 'Docker 20.10.24 answers.' });
      expect(check(result, 'edge-proxy').status).toBe('failed');

      // A clean end: the client half-closes, the gateway finishes the stream and records the disconnect.
      // Commands the control plane queued meanwhile (the server's first edge document) may still arrive before the end.
      requests.close();
      const deadline = Date.now() + 5_000;
      let end: IteratorResult<ControlMessage> | 'timeout';
      do {
        end = await Promise.race([
          responses.next(),
          new Promise<'timeout'>((r) => setTimeout(r, Math.max(0, deadline - Date.now()), 'timeout')),
        ]);
      } while (end !== 'timeout' && !end.done && end.value.payload.case === 'command');
      expect(end).toEqual({ done: true, value: undefined });
      await eventually(
        'the control plane records the disconnect',
        async () => (await api.agent(serverId)).connectionState === 'unreachable',
        5_000,
      );
    } finally {
      abort.abort();
    }
  });
});
