import { spawnSync } from 'node:child_process';
import { type Dirent, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  type Client,
  type ClientDuplexStream,
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
} from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { type AgentServiceHandlers, agentServiceDefinition } from '../shared/agent-service-definition.js';
import {
  type AgentMessage,
  AgentMessageSchema,
  AgentService,
  type ControlMessage,
  ControlMessageSchema,
} from '../shared/gen/berth/agent/v1/agent_pb.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const binDir = join(repoRoot, 'node_modules', '.bin');
const committedGen = join(repoRoot, 'shared', 'gen');

/** Every file under `dir`, as paths relative to it; empty when `dir` does not exist. */
function listFiles(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The files that differ between two trees, each labelled with how, so a failure says what to do. */
function diffTrees(expectedDir: string, actualDir: string): string[] {
  const expected = new Set(listFiles(expectedDir));
  const actual = new Set(listFiles(actualDir));
  const problems: string[] = [];
  for (const file of expected) {
    if (!actual.has(file)) {
      problems.push(`missing from shared/gen: ${file}`);
    } else if (!readFileSync(join(expectedDir, file)).equals(readFileSync(join(actualDir, file)))) {
      problems.push(`differs from buf output: shared/gen/${file}`);
    }
  }
  for (const file of actual) {
    if (!expected.has(file)) problems.push(`not produced by buf (stale or hand-written): shared/gen/${file}`);
  }
  return problems;
}

/** The grpc-js generic client with `connect` typed; the generic constructor only knows `Function` members. */
type AgentClient = Client & { connect(): ClientDuplexStream<AgentMessage, ControlMessage> };

describe('generated agent protocol code', () => {
  it('matches what buf generates from proto/ (regenerate with npm run generate, never edit shared/gen)', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'berth-buf-'));
    try {
      // `-o` prefixes the template's `out`, so this uses the repo's own buf.gen.yaml (plugin options, clean)
      // while leaving the committed shared/gen untouched. The plugin is `local`, found through PATH.
      const run = spawnSync(join(binDir, 'buf'), ['generate', '-o', outDir], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${binDir}${delimiter}${process.env['PATH'] ?? ''}` },
        timeout: 30_000,
      });
      expect(run.error, 'could not run node_modules/.bin/buf').toBeUndefined();
      expect(run.status, `buf generate failed:\n${run.stderr}`).toBe(0);

      const fresh = join(outDir, relative(repoRoot, committedGen));
      expect(listFiles(fresh).length, 'buf generated nothing').toBeGreaterThan(0);
      expect(diffTrees(fresh, committedGen), 'shared/gen is out of date: run `npm run generate`').toEqual([]);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('round-trips envelopes through the binary format with seq and ack intact as bigint', () => {
    // Above Number.MAX_SAFE_INTEGER, so a lossy number conversion anywhere would show.
    const bigSeq = 2n ** 63n + 7n;
    const hello = create(AgentMessageSchema, {
      seq: 1n,
      ack: bigSeq,
      payload: {
        case: 'hello',
        value: {
          serverId: 'srv_test',
          agentVersion: '0.1.0',
          capabilities: ['docker', 'caddy'],
          host: { hostname: 'node-1', os: 'linux', kernel: '6.1.0', arch: 'x64', cpuCount: 2, memoryBytes: 2n ** 34n },
          docker: { reachable: true, version: '20.10.24', apiVersion: '1.41' },
          lastAckSeen: 41n,
        },
      },
    });
    const command = create(ControlMessageSchema, {
      seq: bigSeq,
      ack: 1n,
      payload: {
        case: 'command',
        value: {
          commandId: 'cmd_1',
          kind: 'deploy',
          issuedAt: timestampFromDate(new Date('2025-01-01T00:00:00Z')),
          deadline: timestampFromDate(new Date('2025-01-01T00:05:00Z')),
          payloadJson: new TextEncoder().encode('{"image":"nginx:1.27"}'),
        },
      },
    });

    const helloBack = fromBinary(AgentMessageSchema, toBinary(AgentMessageSchema, hello));
    const commandBack = fromBinary(ControlMessageSchema, toBinary(ControlMessageSchema, command));

    expect(typeof helloBack.seq).toBe('bigint');
    expect(typeof helloBack.ack).toBe('bigint');
    expect(helloBack.seq).toBe(1n);
    expect(helloBack.ack).toBe(bigSeq);
    expect(helloBack).toEqual(hello);
    expect(typeof commandBack.seq).toBe('bigint');
    expect(commandBack.seq).toBe(bigSeq);
    expect(commandBack.ack).toBe(1n);
    expect(commandBack).toEqual(command);
    if (commandBack.payload.case !== 'command') throw new Error(`expected a command, got ${commandBack.payload.case}`);
    expect(new TextDecoder().decode(commandBack.payload.value.payloadJson)).toBe('{"image":"nginx:1.27"}');
  });

  it('describes AgentService.Connect as a bidi stream of AgentMessage to ControlMessage', () => {
    expect(AgentService.typeName).toBe('berth.agent.v1.AgentService');
    expect(AgentService.method.connect.name).toBe('Connect');
    expect(AgentService.method.connect.methodKind).toBe('bidi_streaming');
    expect(AgentService.method.connect.input).toBe(AgentMessageSchema);
    expect(AgentService.method.connect.output).toBe(ControlMessageSchema);
    expect(agentServiceDefinition.connect.path).toBe('/berth.agent.v1.AgentService/Connect');
  });

  it('carries a Hello and its Welcome over a real grpc-js server and client built from the descriptors', async () => {
    const handlers: AgentServiceHandlers = {
      connect: (call) => {
        let seq = 0n;
        call.on('data', (message: AgentMessage) => {
          if (message.payload.case !== 'hello') return;
          seq += 1n;
          call.write(
            create(ControlMessageSchema, {
              seq,
              ack: message.seq,
              payload: {
                case: 'welcome',
                value: { sessionId: `ses_${message.payload.value.serverId}`, heartbeatIntervalMs: 5000 },
              },
            }),
          );
        });
        call.on('end', () => call.end());
      },
      telemetry: (call) => call.end(),
      terminal: (call) => call.end(),
    };
    const server = new Server();
    server.addService(agentServiceDefinition, handlers);
    const port = await new Promise<number>((done, fail) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? fail(error) : done(bound),
      ),
    );
    const AgentClientConstructor = makeGenericClientConstructor(agentServiceDefinition, 'AgentService');
    const client = new AgentClientConstructor(
      `127.0.0.1:${port}`,
      credentials.createInsecure(),
    ) as unknown as AgentClient;

    try {
      const call = client.connect();
      const firstReply = new Promise<ControlMessage>((done, fail) => {
        call.once('data', done);
        call.once('error', fail);
      });
      call.write(create(AgentMessageSchema, { seq: 1n, payload: { case: 'hello', value: { serverId: 'srv_test' } } }));
      const welcome = await firstReply;
      call.end();

      expect(welcome.seq).toBe(1n);
      expect(welcome.ack).toBe(1n);
      expect(welcome.payload.case).toBe('welcome');
      if (welcome.payload.case === 'welcome') {
        expect(welcome.payload.value.sessionId).toBe('ses_srv_test');
        expect(welcome.payload.value.heartbeatIntervalMs).toBe(5000);
      }
    } finally {
      client.close();
      server.forceShutdown();
    }
  }, 5_000);
});
