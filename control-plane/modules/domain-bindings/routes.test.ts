import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js';
import { createWebResource, type WebResource } from '../../../test/helpers/create-web-resource.js';
import { runOn as runDesired } from '../../../test/helpers/desired-runtime.js';
import { registerServer } from '../../../test/helpers/register-server.js';
import { startTxtDnsServer, type TxtDnsServer } from '../../../test/helpers/txt-dns-server.js';

let t: TestApp;
let token: string;
let dns: TxtDnsServer;
let web: http.Server;
// What the loopback "domain" answers on the challenge path, by token.
const tokens = new Map<string, string>();
let counter = 0;

beforeAll(async () => {
  dns = await startTxtDnsServer();
  web = http.createServer((req, res) => {
    const token = /^\/\.well-known\/berth-challenge\/(.+)$/.exec(req.url ?? '')?.[1];
    const body = token ? tokens.get(token) : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(body ?? 'not here');
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  t = await buildTestApp({
    env: {
      BERTH_DNS_RESOLVER: dns.address,
      BERTH_HTTP_CHALLENGE_PORT: String((web.address() as AddressInfo).port),
    },
  });
  ({ token } = await t.bootstrap());
});
afterAll(async () => {
  await t?.close();
  await dns?.close();
  await new Promise((resolve) => web?.close(resolve));
});

const post = (url: string, json: unknown, as = token) => t.request({ method: 'POST', url, token: as, json });
const get = (url: string) => t.request({ method: 'GET', url, token });

/** A fresh project, environment and resource (container port 8080). */
function createResource(): Promise<WebResource> {
  counter += 1;
  return createWebResource(t, token, `domains ${counter}`);
}

const runOn = (serverId: string, resourceId: string) => runDesired(t.orm.em.fork(), serverId, resourceId);

const routesOf = async (serverId: string) => (await t.parts.services.edge.plan(t.orm.em.fork(), serverId)).document;

const bind = (target: Record<string, unknown>, domainName: string, extra: Record<string, unknown> = {}) =>
  post('/domain-bindings', { ...target, domainName, ...extra });

describe('domain binding create', () => {
  it('stores the domain in lower case without its trailing dot and routes it on the server its resource runs on', async () => {
    const target = await createResource();
    const serverId = await registerServer(t, token, 'domains-run');
    await runOn(serverId, target.resourceId);
    const res = await bind(target, 'App.Example.TEST.');
    expect(res.statusCode, res.body).toBe(201);
    const { id } = res.json();
    const shown = (await get(`/domain-bindings/${id}`)).json();
    expect(shown.binding).toMatchObject({
      id,
      domainName: 'app.example.test',
      proxyKind: 'caddy',
      status: 'requested',
    });
    const document = await routesOf(serverId);
    expect(document.routes.find((r) => r.routeId === id)).toEqual({
      routeId: id,
      hostname: 'app.example.test',
      pathPrefix: '/',
      resourceId: target.resourceId,
      targetPort: 8080,
      tls: 'acme',
      redirect: null,
    });
    expect(shown.routeReadiness.selectedRoute.proxy.applied).toBe('planned');
  });

  it.each([
    ['not a name', 'domain_name_invalid'],
    ['a'.repeat(64) + '.example.test', 'domain_name_invalid'],
    ['*.example.test', 'domain_name_wildcard'],
    ['192.0.2.10', 'domain_name_ip_literal'],
    ['[2001:db8::1]', 'domain_name_ip_literal'],
  ])('refuses %s as a domain with VALIDATION_ERROR and reason %s', async (domainName, reason) => {
    const res = await bind(await createResource(), domainName);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'domainName', details: { reason } });
  });

  it('binds a domain once per instance, whatever its case, and again once the binding is deleted', async () => {
    const first = await bind(await createResource(), 'once.example.test');
    const again = await bind(await createResource(), 'ONCE.example.test');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: 'CONFLICT',
      field: 'domainName',
      details: { reason: 'domain_already_bound' },
    });
    const id = first.json().id;
    const removed = await t.request({
      method: 'DELETE',
      url: `/domain-bindings/${id}`,
      token,
      json: { confirmation: { domainBindingId: id } },
    });
    expect(removed.statusCode, removed.body).toBe(200);
    expect((await bind(await createResource(), 'once.example.test')).statusCode).toBe(201);
  });

  it('refuses a resource it cannot see as NOT_FOUND on resourceId', async () => {
    const target = await createResource();
    const res = await bind({ ...target, resourceId: 'res-00000000000000000000000000' }, 'nobody.example.test');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND', field: 'resourceId' });
  });

  it('refuses a resource of another project or environment with reason resource_scope_mismatch', async () => {
    const a = await createResource();
    const b = await createResource();
    const project = await bind({ ...a, projectId: b.projectId }, 'scope1.example.test');
    expect(project.statusCode).toBe(400);
    expect(project.json()).toMatchObject({ field: 'projectId', details: { reason: 'resource_scope_mismatch' } });
    const env = await bind({ ...a, environmentId: b.environmentId }, 'scope2.example.test');
    expect(env.json()).toMatchObject({ field: 'environmentId', details: { reason: 'resource_scope_mismatch' } });
    const bound = (await bind(a, 'scope3.example.test')).json().id;
    const moved = await post(`/domain-bindings/${bound}/route`, { resourceId: b.resourceId });
    expect(moved.statusCode).toBe(400);
    expect(moved.json()).toMatchObject({ field: 'resourceId', details: { reason: 'resource_scope_mismatch' } });
  });

  it('refuses proxyKind traefik with reason proxy_kind_unsupported', async () => {
    const res = await bind(await createResource(), 'traefik.example.test', { proxyKind: 'traefik' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'proxyKind', details: { reason: 'proxy_kind_unsupported' } });
  });
});

describe('domain binding edge routes', () => {
  it('serves without TLS when tlsMode or certificatePolicy is disabled, and redirects to a canonical binding', async () => {
    const target = await createResource();
    const serverId = await registerServer(t, token, 'domains-tls');
    await runOn(serverId, target.resourceId);
    const plain = (await bind(target, 'plain.example.test', { tlsMode: 'disabled' })).json().id;
    const off = (await bind(target, 'off.example.test', { certificatePolicy: 'disabled' })).json().id;
    const www = (
      await bind(target, 'www.example.test', { redirectTo: 'plain.example.test', redirectStatus: 301 })
    ).json().id;
    const routes = new Map((await routesOf(serverId)).routes.map((r) => [r.routeId, r]));
    expect(routes.get(plain)?.tls).toBe('none');
    expect(routes.get(off)?.tls).toBe('none');
    expect(routes.get(www)?.redirect).toEqual({ to: 'plain.example.test', status: 301 });
    const chained = await bind(target, 'chain.example.test', { redirectTo: 'www.example.test' });
    expect(chained.json()).toMatchObject({ field: 'redirectTo', details: { reason: 'redirect_target_invalid' } });
  });

  it('moves the route to the server of the new resource, and deleting removes exactly its route', async () => {
    const a = await createResource();
    const serverA = await registerServer(t, token, 'domains-a');
    await runOn(serverA, a.resourceId);
    const b = (
      await post('/resources', {
        projectId: a.projectId,
        environmentId: a.environmentId,
        name: 'api',
        source: { kind: 'docker-image', locator: 'berth-test/api:1' },
        networkProfile: { internalPort: 8080 },
      })
    ).json().id;
    const serverB = await registerServer(t, token, 'domains-b');
    await runOn(serverB, b);
    const id = (await bind(a, 'move.example.test')).json().id;
    const keep = (await bind(a, 'keep.example.test')).json().id;
    expect((await routesOf(serverA)).routes.map((r) => r.routeId)).toContain(id);
    expect((await post(`/domain-bindings/${id}/route`, { resourceId: b })).statusCode).toBe(200);
    expect((await routesOf(serverA)).routes.map((r) => r.routeId)).not.toContain(id);
    expect((await routesOf(serverB)).routes.find((r) => r.routeId === id)?.resourceId).toBe(b);
    const before = (await routesOf(serverA)).routes.map((r) => r.routeId);
    const del = await t.request({
      method: 'DELETE',
      url: `/domain-bindings/${keep}`,
      token,
      json: { confirmation: { domainBindingId: keep } },
    });
    expect(del.statusCode, del.body).toBe(200);
    expect((await routesOf(serverA)).routes.map((r) => r.routeId)).toEqual(before.filter((r) => r !== keep));
  });

  it('refuses a delete whose confirmation names another binding', async () => {
    const id = (await bind(await createResource(), 'confirm.example.test')).json().id;
    const res = await t.request({
      method: 'DELETE',
      url: `/domain-bindings/${id}`,
      token,
      json: { confirmation: { domainBindingId: 'dom-other' } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', field: 'confirmation.domainBindingId' });
  });
});

describe('domain ownership', () => {
  it('verifies by the TXT record at _berth-challenge.<domain>, and reports a missing or wrong one truthfully', async () => {
    const id = (await bind(await createResource(), 'txt.example.test')).json().id;
    const challenge = (await get(`/domain-bindings/${id}`)).json().binding.ownershipChallenge;
    expect(challenge.txtRecordName).toBe('_berth-challenge.txt.example.test');

    const missing = await post(`/domain-bindings/${id}/ownership-confirmations`, { method: 'dns-txt' });
    expect(missing.statusCode, missing.body).toBe(200);
    expect(missing.json()).toMatchObject({ id, outcome: 'not_found', status: 'pending_verification' });

    dns.setTxt('_berth-challenge.txt.example.test', 'someone-else');
    const wrong = await post(`/domain-bindings/${id}/verification-retries`, {});
    expect(wrong.json()).toMatchObject({ outcome: 'mismatch', status: 'failed' });

    dns.setTxt('_berth-challenge.txt.example.test', 'someone-else', challenge.txtRecordValue);
    const ok = await post(`/domain-bindings/${id}/verification-retries`, {});
    expect(ok.json()).toMatchObject({ outcome: 'verified' });
    const shown = (await get(`/domain-bindings/${id}`)).json().binding;
    expect(shown).toMatchObject({ ownershipVerified: true, verificationAttemptCount: 3 });
    expect(shown.latestVerificationAttempt).toMatchObject({ id: ok.json().verificationAttemptId, method: 'dns-txt' });
  });

  it('reports a resolver that does not answer as lookup_failed', async () => {
    const id = (await bind(await createResource(), 'silent.example.test')).json().id;
    dns.silent = true;
    try {
      const res = await post(`/domain-bindings/${id}/ownership-confirmations`, {});
      expect(res.json()).toMatchObject({ outcome: 'lookup_failed' });
      expect((await get(`/domain-bindings/${id}`)).json().binding.latestVerificationAttempt.errorCode).toBe(
        'ownership_lookup_failed',
      );
    } finally {
      dns.silent = false;
    }
  }, 20_000);

  it('verifies by the HTTP token fetched from the address the domain resolves to, and retries the same method', async () => {
    const target = await createResource();
    const id = (await bind(target, 'http.example.test')).json().id;
    const challenge = (await get(`/domain-bindings/${id}`)).json().binding.ownershipChallenge;
    dns.setA('http.example.test', '127.0.0.1');
    const missing = await post(`/domain-bindings/${id}/ownership-confirmations`, { method: 'http-token' });
    expect(missing.json()).toMatchObject({ outcome: 'not_found' });
    tokens.set(challenge.txtRecordValue, challenge.httpBody);
    const ok = await post(`/domain-bindings/${id}/verification-retries`, {});
    expect(ok.json()).toMatchObject({ outcome: 'verified' });
    const shown = (await get(`/domain-bindings/${id}`)).json().binding;
    expect(shown.latestVerificationAttempt.method).toBe('http-token');
    expect(shown.dnsObservation).toMatchObject({ observedTargets: ['127.0.0.1'] });
  });

  it('routes a binding whose ownership was never confirmed', async () => {
    const target = await createResource();
    const serverId = await registerServer(t, token, 'domains-ungated');
    await runOn(serverId, target.resourceId);
    const id = (await bind(target, 'unverified.example.test')).json().id;
    expect((await get(`/domain-bindings/${id}`)).json().binding.ownershipVerified).toBe(false);
    expect((await routesOf(serverId)).routes.find((r) => r.routeId === id)?.tls).toBe('acme');
  });
});

describe('domain binding list', () => {
  it('filters by resource and leaves deleted bindings out', async () => {
    const target = await createResource();
    const kept = (await bind(target, 'list1.example.test')).json().id;
    const gone = (await bind(target, 'list2.example.test')).json().id;
    await t.request({
      method: 'DELETE',
      url: `/domain-bindings/${gone}`,
      token,
      json: { confirmation: { domainBindingId: gone } },
    });
    const res = await get(`/domain-bindings?resourceId=${target.resourceId}&limit=10`);
    expect(res.json().items.map((b: { id: string }) => b.id)).toEqual([kept]);
  });
});
