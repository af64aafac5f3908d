import http from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../shared/free-port.js';
import { deploy, ended, healthzCheck } from '../../helpers/deploy-api.js';
import { eventually } from '../agent/processes.js';
import { DeployRig } from '../deployments/deploy-rig.js';

/**
 * Host-based routing end to end (issue 13): the real control plane, the agent bundle, a private dockerd and a real
 * Caddy whose edge servers listen on free loopback ports. A custom-template default access policy names each app;
 * requests reach it through Caddy's HTTP port with that Host header. One rig for the file: the tests run in order and
 * each starts from what the previous one left running.
 */

const rig = new DeployRig();
let httpPort = 0;
let httpsPort = 0;
const template = '{resource}-{environment}.apps.example.test';
/** App A is the rig's resource `web`; app B (`stream`) is created in the same environment. */
const hostA = 'web-production.apps.example.test';
const hostB = 'stream-production.apps.example.test';
let resourceB = '';

/**
 * App B: the web image, with a CGI script next to its pages that streams `tick N` lines every half second for two
 * minutes (busybox httpd passes CGI output on as it is written).
 */
const streamingStart = [
  '/bin/busybox mkdir -p /www/cgi-bin',
  `printf '%s\\n' '#!/bin/sh' 'printf "Content-Type: text/event-stream\\r\\n\\r\\n"' 'i=0' 'while [ $i -lt 240 ]; do i=$((i+1)); echo "tick $i"; /bin/busybox sleep 0.5; done' > /www/cgi-bin/stream`,
  '/bin/busybox chmod 755 /www/cgi-bin/stream',
  'exec /bin/busybox httpd -f -p 8080 -h /www',
].join(' && ');

interface Answer {
  status: number;
  body: string;
  socket: Socket;
}

/** `GET path` on Caddy's edge HTTP port with `Host: host`; `agent: false` is a fresh connection closed after it. */
function get(host: string, path = '/', agent: http.Agent | false = false, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: httpPort,
        path,
        agent,
        headers: { host, ...(agent === false ? { connection: 'close' } : {}) },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim(), socket: req.socket! }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.end();
  });
}

/** What `host` answers at `/` through Caddy, once it answers 200. */
function answersThroughCaddy(host: string, body: string, timeoutMs = 30_000): Promise<true> {
  return eventually(
    `${host} answers "${body}" through Caddy`,
    async () => {
      const answer = await get(host);
      return (answer.status === 200 && answer.body === body) || undefined;
    },
    timeoutMs,
    200,
  );
}

/**
 * Requests `host` back to back through Caddy until stopped: three keep-alive clients (one socket each, reused) and
 * two on a fresh connection per request.
 */
function hostLoad(host: string) {
  const tally = { ok: 0, failed: 0, bodies: new Set<string>(), errors: [] as string[] };
  let running = true;
  const agents = [1, 2, 3].map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const client = async (agent: http.Agent | false) => {
    while (running) {
      try {
        const answer = await get(host, '/', agent);
        if (answer.status === 200) {
          tally.ok += 1;
          tally.bodies.add(answer.body);
        } else {
          tally.failed += 1;
          tally.errors.push(`${answer.status} ${answer.body.slice(0, 80)}`);
        }
      } catch (error) {
        tally.failed += 1;
        tally.errors.push(String(error));
      }
    }
  };
  const clients = [...agents.map(client), client(false), client(false)];
  return {
    tally,
    async stop() {
      running = false;
      await Promise.all(clients);
      for (const agent of agents) agent.destroy();
      return tally;
    },
  };
}

/** A long-lived streaming response from app B's CGI script, read line by line. */
function openStream(host: string) {
  const state = { status: 0, ticks: [] as number[], ended: false, error: null as string | null };
  const req = http.request({
    host: '127.0.0.1',
    port: httpPort,
    path: '/cgi-bin/stream',
    agent: false,
    headers: { host },
  });
  req.on('response', (res) => {
    state.status = res.statusCode ?? 0;
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const tick = /^tick (\d+)$/.exec(line.trim());
        if (tick) state.ticks.push(Number(tick[1]));
      }
    });
    res.on('end', () => {
      state.ended = true;
    });
  });
  req.on('error', (error) => {
    state.error = String(error);
  });
  req.on('close', () => {
    state.ended = true;
  });
  req.end();
  return { state, close: () => req.destroy() };
}

/** Caddy's whole config as its admin API serves it (the bytes). */
async function caddyConfig(): Promise<string> {
  const res = await fetch(`${rig.caddy!.adminUrl}/config/`);
  expect(res.status).toBe(200);
  return res.text();
}

async function caddyAdmin(method: string, path: string, body?: unknown): Promise<string> {
  const res = await fetch(`${rig.caddy!.adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text}`).toBe(200);
  return text;
}

interface ProxyConfigurationView {
  status: string;
  stale: boolean;
  routes: Array<{
    hostname: string;
    url: string;
    targetPort: number | null;
    source: string;
    routeBehavior: string;
    appliedRouteContext: { upstreamName: string | null; resolvedUpstream: string | null } | null;
  }>;
  diagnostics: { metadata: { appliedVersion: string; foreignRouteCount: string } } | null;
}

const proxyConfiguration = (resourceId: string) =>
  rig.api.expect<ProxyConfigurationView>(
    200,
    'GET',
    `/resources/${resourceId}/proxy-configuration?includeDiagnostics=true`,
  );

/** The bridge address of the running container of `resourceId` (what the agent's resolver should answer). */
async function containerIp(resourceId: string): Promise<string> {
  const [container] = await rig.docker.listContainers({
    filters: { label: [`berth.resource=${resourceId}`], status: ['running'] },
  });
  expect(container, `a running container of ${resourceId}`).toBeDefined();
  const inspect = await rig.docker.getContainer(container!.Id).inspect();
  return inspect.NetworkSettings.Networks['berth']!.IPAddress;
}

/** Deploys `resourceId` (A by default) and waits until the deployment succeeded. */
async function deployed(resourceId = rig.resourceId): Promise<string> {
  const id = await deploy(rig.api, { ...rig, resourceId });
  const view = await ended(rig.api, id, { timeoutMs: 60_000, everyMs: 200, retryErrors: true });
  expect(view.status, `${view.errorCode}: ${view.errorMessage}`).toBe('succeeded');
  return id;
}

/** Stops the agent gracefully and starts it again; waits until it is connected and has had time to reconcile. */
async function restartAgent(what: string): Promise<void> {
  rig.agent.signal('SIGTERM');
  expect(await rig.agent.exited).toEqual({ code: 0, signal: null });
  rig.startAgent();
  await rig.reaches('connected', 30_000, what);
  // The agent's first edge re-check runs at start; give it and two reconciliations (every 2 s here) time to run.
  await rig.agent.waitForLog((line) => line['msg'] === 'agent starting', 10_000);
  await sleep(5000);
}

beforeAll(async () => {
  httpPort = await freePort();
  httpsPort = await freePort();
  rig.extraAgentEnv = { BERTH_PROXY_HTTP_PORT: String(httpPort), BERTH_PROXY_HTTPS_PORT: String(httpsPort) };
  await rig.start();
  // As a new user would: name apps by a template, then have Berth manage (adopt) the server's Caddy.
  await rig.api.expect(200, 'POST', '/default-access-domain-policies', {
    scope: { kind: 'system' },
    mode: 'custom-template',
    templateRef: template,
  });
  await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/edge-proxy/configuration`, { proxyKind: 'caddy' });
  await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/edge-proxy/bootstrap`, {});
  await eventually(
    'the edge proxy is ready',
    async () => {
      const { server } = await rig.api.expect<{ server: { edgeProxy: { status: string } } }>(
        200,
        'GET',
        `/servers/${rig.serverId}`,
      );
      return server.edgeProxy.status === 'ready' || undefined;
    },
    30_000,
    200,
  );
  // App B: same environment, so the template gives it a name of its own.
  resourceB = (
    await rig.api.expect<{ id: string }>(201, 'POST', '/resources', {
      projectId: rig.projectId,
      environmentId: rig.environmentId,
      name: 'stream',
      source: { kind: 'docker-image', locator: 'berth-test/web:v1' },
      networkProfile: { internalPort: 8080 },
      runtimeProfile: { startCommand: streamingStart },
      healthCheck: healthzCheck(1),
    })
  ).id;
}, 150_000);

afterAll(async () => {
  console.log('host routing e2e timings', rig.timings);
  await rig.stop();
}, 60_000);

describe('host-based routing through the real Caddy edge', () => {
  it('a custom-template policy names the deployed app; it answers through Caddy by that name and the read-back shows the route', {
    timeout: 90_000,
  }, async () => {
    const deploymentId = await deployed();
    await answersThroughCaddy(hostA, 'v1');
    // The deployment names where users reach it (the edge was ready), and where its container answers.
    const { deployment } = await rig.api.expect<{ deployment: { accessUrl: string; directUrl: string } }>(
      200,
      'GET',
      `/deployments/${deploymentId}`,
    );
    expect(deployment.accessUrl).toBe(`http://${hostA}`);
    expect(deployment.directUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const summary = await eventually(
      'the access summary shows the applied generated route',
      async () => {
        const show = await rig.api.expect<{ accessSummary: Record<string, unknown> & { proxyRouteStatus: string } }>(
          200,
          'GET',
          `/resources/${rig.resourceId}?includeAccessSummary=true`,
        );
        return show.accessSummary.proxyRouteStatus === 'ready' ? show.accessSummary : undefined;
      },
      20_000,
      200,
    );
    expect(summary['plannedGeneratedAccessRoute']).toMatchObject({
      hostname: hostA,
      url: `http://${hostA}`,
      scheme: 'http',
      providerKey: 'custom-template',
      proxyKind: 'caddy',
      targetPort: 8080,
    });
    expect(summary['latestGeneratedAccessRoute']).toMatchObject({
      hostname: hostA,
      url: `http://${hostA}`,
      deploymentStatus: 'succeeded',
    });

    const proxy = await proxyConfiguration(rig.resourceId);
    expect(proxy.status).toBe('applied');
    expect(proxy.stale).toBe(false);
    expect(proxy.routes).toHaveLength(1);
    expect(proxy.routes[0]).toMatchObject({
      hostname: hostA,
      url: `http://${hostA}`,
      targetPort: 8080,
      source: 'server-applied',
      routeBehavior: 'serve',
      appliedRouteContext: {
        upstreamName: `${rig.resourceId}.berth.internal`,
        resolvedUpstream: await containerIp(rig.resourceId),
      },
    });
    // A name no route serves is not sent to the app.
    const unknown = await get('nobody.apps.example.test');
    expect(unknown.body).not.toBe('v1');
  });

  it("a redeploy under load through the host route fails no request, and app B's streaming response and idle keep-alive survive it", {
    timeout: 120_000,
  }, async () => {
    // App B's first deploy adds its routes (a config change): done before any of its connections is opened.
    await deployed(resourceB);
    await answersThroughCaddy(hostB, 'v1');
    await eventually(
      'app B is applied in Caddy',
      async () => (await proxyConfiguration(resourceB)).status === 'applied' || undefined,
      20_000,
      200,
    );

    const idleB = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(hostB, '/', idleB);
    expect(first.status).toBe(200);
    const stream = openStream(hostB);
    await eventually('app B streams', () => stream.state.ticks.length >= 2 || undefined, 15_000, 100);
    expect(stream.state.status).toBe(200);

    await rig.setImage('berth-test/web:v2');
    await rig.api.expect(200, 'POST', `/resources/${rig.resourceId}/variables`, { key: 'GREETING', value: 'hello v2' });
    const configBefore = await caddyConfig();
    const load = hostLoad(hostA);
    await eventually('the load is running', () => load.tally.ok >= 20 || undefined, 10_000, 50);
    await deployed();
    await eventually('the load reaches v2', () => load.tally.bodies.has('v2') || undefined, 10_000, 50);
    // Some more requests on v2 alone, then the tally.
    const okAtSwitch = load.tally.ok;
    await eventually('more requests on v2', () => load.tally.ok >= okAtSwitch + 50 || undefined, 10_000, 50);
    const tally = await load.stop();
    rig.timings['redeploy under load through Caddy'] = `${tally.ok} ok, ${tally.failed} failed`;
    expect(tally.errors).toEqual([]);
    expect(tally.failed).toBe(0);
    expect([...tally.bodies].sort()).toEqual(['v1', 'v2']);
    expect((await get(hostA)).body).toBe('v2');
    // The switch was a resolver record, not a config change.
    expect(await caddyConfig()).toBe(configBefore);

    // App B's stream is still the same response, still flowing: no error, no end, no tick missing.
    const seen = stream.state.ticks.length;
    await eventually('app B keeps streaming', () => stream.state.ticks.length > seen + 1 || undefined, 10_000, 100);
    expect(stream.state.error).toBeNull();
    expect(stream.state.ended).toBe(false);
    expect(stream.state.ticks).toEqual(stream.state.ticks.map((_, i) => i + 1));
    stream.close();
    // And its idle keep-alive connection is reused, not replaced.
    const second = await get(hostB, '/', idleB);
    expect(second.status).toBe(200);
    expect(second.socket).toBe(first.socket);
    idleB.destroy();
  });

  it("an agent restart and a control-plane restart leave Caddy's config byte-identical and fail no request", {
    timeout: 120_000,
  }, async () => {
    const before = await caddyConfig();
    const load = hostLoad(hostA);
    await eventually('the load is running', () => load.tally.ok >= 20 || undefined, 10_000, 50);

    await restartAgent('agent restart');
    expect(await caddyConfig()).toBe(before);

    await rig.restartControlPlane();
    await rig.reaches('connected', 30_000, 'reconnect after the control-plane restart');
    await sleep(5000);
    expect(await caddyConfig()).toBe(before);

    const tally = await load.stop();
    rig.timings['agent and control-plane restarts under load'] = `${tally.ok} ok, ${tally.failed} failed`;
    expect(tally.errors).toEqual([]);
    expect(tally.failed).toBe(0);
    expect([...tally.bodies]).toEqual(['v2']);
    expect((await proxyConfiguration(rig.resourceId)).status).toBe('applied');
  });

  it('a route added to Caddy by hand survives a redeploy, an agent restart and edge re-publishes, unchanged', {
    timeout: 150_000,
  }, async () => {
    const manualPort = await freePort();
    await caddyAdmin('PUT', '/config/apps/http/servers/manual', {
      listen: [`127.0.0.1:${manualPort}`],
      routes: [{ '@id': 'manual-hello', handle: [{ handler: 'static_response', body: 'made by hand' }] }],
    });
    // And one inside Berth's own edge server.
    await caddyAdmin('POST', '/config/apps/http/servers/berth-edge-http/routes', {
      '@id': 'manual-route',
      match: [{ host: ['manual.example.test'] }],
      handle: [{ handler: 'static_response', body: 'routed by hand' }],
      terminal: true,
    });
    const foreign = async () => ({
      server: await caddyAdmin('GET', '/config/apps/http/servers/manual'),
      route: await caddyAdmin('GET', '/id/manual-route'),
    });
    const handMade = await foreign();
    const bothAnswer = async () => {
      const server = await fetch(`http://127.0.0.1:${manualPort}/`);
      expect(await server.text()).toBe('made by hand');
      expect((await get('manual.example.test')).body).toBe('routed by hand');
    };
    await bothAnswer();
    const inspected = await proxyConfiguration(rig.resourceId);
    expect(Number(inspected.diagnostics?.metadata.foreignRouteCount)).toBeGreaterThanOrEqual(2);

    // A redeploy of A.
    await rig.images.web('v3');
    await rig.setImage('berth-test/web:v3');
    await deployed();
    await answersThroughCaddy(hostA, 'v3');
    expect(await foreign()).toEqual(handMade);
    await bothAnswer();

    // An agent restart.
    await restartAgent('agent restart with routes added by hand');
    expect(await foreign()).toEqual(handMade);
    await bothAnswer();

    // The same document published again (a bootstrap makes the control plane send it anew) ...
    const appliedBefore = Number((await proxyConfiguration(rig.resourceId)).diagnostics?.metadata.appliedVersion);
    await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/edge-proxy/bootstrap`, {});
    await eventually(
      'the agent applied the re-published document',
      async () =>
        Number((await proxyConfiguration(rig.resourceId)).diagnostics?.metadata.appliedVersion) > appliedBefore ||
        undefined,
      20_000,
      200,
    );
    expect(await foreign()).toEqual(handMade);
    await bothAnswer();

    // ... and a changed one: stopping app B removes its route, which Berth writes.
    const withB = await caddyConfig();
    await rig.api.expect(200, 'POST', `/resources/${resourceB}/runtime/stop`, {});
    await eventually(
      "app B's route is gone from Caddy",
      async () => (await caddyConfig()) !== withB && !(await caddyConfig()).includes(hostB),
      20_000,
      200,
    );
    expect(await foreign()).toEqual(handMade);
    await bothAnswer();
    await answersThroughCaddy(hostA, 'v3');
  });
});
