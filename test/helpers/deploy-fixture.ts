import type { Command } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import { createCertificateRequest, generateKeyPair } from '../../shared/pki.js';
import { buildTestApp, type TestApp } from './build-test-app.js';
import { FakeAgent, type FakeCommandOutcome } from './fake-agent.js';

/** A control plane (API + agent gateway with the deployment hooks) on a fresh database, with helpers to deploy. */
export interface DeployFixture {
  t: TestApp;
  token: string;
  gatewayPort: number;
  /** Registers and enrolls a server; its fake agent connects with `execute` answering commands. */
  connectServer(
    execute: (command: Command, agent: FakeAgent) => Promise<FakeCommandOutcome>,
  ): Promise<{ serverId: string; agent: FakeAgent }>;
  /** A project, environment and resource with an image source, port, a variable and a secret. */
  createResource(name?: string): Promise<{ projectId: string; environmentId: string; resourceId: string }>;
  close(): Promise<void>;
}

/** Starts the fixture; the gateway shares the test app's database and key ring, as in `berth control-plane`. */
export async function startDeployFixture(existing?: { t: TestApp; token: string }): Promise<DeployFixture> {
  const t = existing?.t ?? (await buildTestApp());
  const token = existing?.token ?? (await t.bootstrap()).token;
  const caPem = (await t.request({ method: 'GET', url: '/agent/ca' })).json().caCertificatePem as string;
  // The test app's own gateway: the same services, hub and command service as its HTTP routes.
  await t.parts.startLink();
  const port = t.parts.grpcPort();
  const agents: FakeAgent[] = [];
  let counter = 0;

  const post = async (url: string, json: unknown) => {
    const res = await t.request({ method: 'POST', url, token, json });
    if (res.statusCode >= 300) throw new Error(`POST ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };

  return {
    t,
    token,
    gatewayPort: port,
    async connectServer(execute) {
      counter += 1;
      const { id: serverId } = await post('/servers', {
        name: `srv-${counter}`,
        host: '127.0.0.1',
        providerKey: 'generic-ssh',
      });
      const issued = await post(`/servers/${serverId}/credentials`, { credential: { kind: 'agent-enrollment' } });
      const { keys, privateKeyPem: keyPem } = await generateKeyPair();
      const enrolled = await post('/agent/enrollments', {
        token: issued.enrollment.token,
        csrPem: await createCertificateRequest(keys, serverId),
        agentVersion: '0.1.0',
        hostname: 'fake',
      });
      const agent: FakeAgent = new FakeAgent({
        port,
        caPem,
        keyPem,
        certPem: enrolled.certificatePem,
        serverId,
        execute: (command) => execute(command, agent),
      });
      agents.push(agent);
      await agent.connect();
      return { serverId, agent };
    },
    async createResource(name = 'web') {
      counter += 1;
      const { id: projectId } = await post('/projects', { name: `deploy ${counter}` });
      const { id: environmentId } = await post('/environments', { projectId, name: 'production', kind: 'production' });
      const { id: resourceId } = await post('/resources', {
        projectId,
        environmentId,
        name,
        source: { kind: 'docker-image', locator: 'berth-test/web:1' },
        networkProfile: { internalPort: 8080 },
      });
      await post(`/resources/${resourceId}/variables`, { key: 'GREETING', value: 'hello' });
      await post(`/resources/${resourceId}/secrets`, { key: 'API_KEY', value: 'sk-deploy-fixture-secret' });
      return { projectId, environmentId, resourceId };
    },
    async close() {
      for (const agent of agents) await agent.dispose().catch(() => undefined);
      // A test app handed in is its owner's to close (its gateway with it).
      if (existing === undefined) await t.close();
    },
  };
}
