import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind } from '../../../shared/command-catalogue.js';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { createWebResource } from '../../../test/helpers/create-web-resource.js';
import { runOn } from '../../../test/helpers/desired-runtime.js';
import { registerServer } from '../../../test/helpers/register-server.js';
import { AgentCommand } from '../agent-commands/entity.js';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
});
afterAll(async () => t?.close());

const createServer = (name: string, extra: Record<string, unknown> = {}) => registerServer(t, token, name, extra);

const configure = (serverId: string, json: unknown) =>
  t.request({ method: 'POST', url: `/servers/${serverId}/edge-proxy/configuration`, token, json });

const edgeOf = async (serverId: string) =>
  (await t.request({ method: 'GET', url: `/servers/${serverId}`, token })).json().server.edgeProxy;

const commandsOf = (serverId: string, kind: string) =>
  t.orm.em.fork().find(AgentCommand, { server: serverId, kind }, { orderBy: { issuedAt: 'asc' } });

describe('server edge proxy', () => {
  it("republishes a running resource's generated route when the default access policy changes", async () => {
    const id = await createServer('edge-policy');
    const post = (url: string, json: unknown) => t.request({ method: 'POST', url, token, json });
    const { resourceId } = await createWebResource(t, token, 'Policy Shop');
    await runOn(t.orm.em.fork(), id, resourceId);
    const policy = { mode: 'custom-template', templateRef: '{resource}-{environment}.policy.example.test' };
    const set = await post('/default-access-domain-policies', {
      scope: { kind: 'deployment-target', serverId: id },
      ...policy,
    });
    expect(set.statusCode, set.body).toBe(200);
    const [sync] = (await commandsOf(id, commandKind.edgeSync)).slice(-1);
    expect(sync?.payload).toMatchObject({ routes: [{ hostname: 'web-production.policy.example.test' }] });
    // The same policy again changes nothing, so nothing more is queued.
    const count = (await commandsOf(id, commandKind.edgeSync)).length;
    await post('/default-access-domain-policies', { scope: { kind: 'deployment-target', serverId: id }, ...policy });
    expect(await commandsOf(id, commandKind.edgeSync)).toHaveLength(count);
  });

  it('accepts a kind for a server whose agent is away, queues its edge document and says why it is pending', async () => {
    const id = await createServer('edge-away', { proxyKind: 'none' });
    const res = await configure(id, { proxyKind: 'caddy' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ id, edgeProxy: { kind: 'caddy', status: 'pending' } });
    expect(await edgeOf(id)).toMatchObject({
      kind: 'caddy',
      status: 'pending',
      lastErrorCode: 'agent_unreachable',
      lastSucceededAt: null,
      observedAt: null,
    });
    const [sync] = await commandsOf(id, commandKind.edgeSync);
    expect(sync).toMatchObject({ state: 'queued', payload: { version: 1, proxyKind: 'caddy', routes: [] } });
  });

  it('replaces a document still queued instead of piling them up, and queues nothing when nothing changed', async () => {
    const id = await createServer('edge-flip');
    await configure(id, { proxyKind: 'none' });
    await configure(id, { proxyKind: 'caddy' });
    await configure(id, { proxyKind: 'caddy' });
    const syncs = await commandsOf(id, commandKind.edgeSync);
    expect(syncs.map((c) => [c.state, c.errorCode ?? null])).toEqual([
      ['expired', 'superseded'],
      ['queued', null],
    ]);
    expect(syncs[1]!.payload).toMatchObject({ version: 2, proxyKind: 'caddy' });
  });

  it('stores traefik and reports it failed as unsupported, without queuing anything for the agent', async () => {
    const id = await createServer('edge-traefik-2', { proxyKind: 'none' });
    const res = await configure(id, { proxyKind: 'traefik' });
    expect(res.json()).toEqual({ id, edgeProxy: { kind: 'traefik', status: 'failed' } });
    expect(await edgeOf(id)).toMatchObject({ status: 'failed', lastErrorCode: 'proxy_kind_unsupported' });
    expect(await commandsOf(id, commandKind.edgeSync)).toEqual([]);
  });

  it('refuses an unknown kind with the field, and an unknown server with NOT_FOUND', async () => {
    const id = await createServer('edge-bad');
    const bad = await configure(id, { proxyKind: 'nginx' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'proxyKind' });
    const missing = await configure('srv-nope', { proxyKind: 'caddy' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('queues a bootstrap as an attempt, and refuses one for a server without Caddy', async () => {
    const id = await createServer('edge-boot');
    const res = await t.request({ method: 'POST', url: `/servers/${id}/edge-proxy/bootstrap`, token, json: {} });
    expect(res.statusCode, res.body).toBe(200);
    const { attemptId } = res.json();
    expect(res.json()).toEqual({ serverId: id, attemptId: expect.stringMatching(/^cmd-/) });
    const [boot] = await commandsOf(id, commandKind.edgeBootstrap);
    expect(boot?.id).toBe(attemptId);
    expect(await edgeOf(id)).toMatchObject({ status: 'pending', lastErrorCode: 'agent_unreachable' });
    expect((await edgeOf(id)).lastAttemptAt).not.toBeNull();

    const none = await createServer('edge-boot-none', { proxyKind: 'none' });
    const refused = await t.request({ method: 'POST', url: `/servers/${none}/edge-proxy/bootstrap`, token, json: {} });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'CONFLICT', field: 'proxyKind' });
  });
});
