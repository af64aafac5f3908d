import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../shared/free-port.js';
import { deploy, ended } from '../../helpers/deploy-api.js';
import { type PrivatePebble, startPebble } from '../../helpers/pebble.js';
import { createTestCa, issueTestLeaf } from '../../helpers/test-certificates.js';
import { eventually } from '../agent/processes.js';
import { DeployRig } from '../deployments/deploy-rig.js';

/**
 * Custom domains end to end (issue 13), as a user does it through the API: the real control plane, the agent bundle,
 * a private dockerd, a real Caddy on free loopback ports and Debian's Pebble as the ACME directory. A domain is bound
 * to the deployed app, Caddy obtains its certificate from Pebble, and the app answers over HTTPS by that name (every
 * name resolves to 127.0.0.1 here: curl's `--resolve`). One rig for the file; the tests run in order.
 */

const rig = new DeployRig();
let pebble: PrivatePebble;
let httpPort = 0;
let httpsPort = 0;
const domain = 'app.example.test';

/** Every name is loopback, whatever is asked: the `--resolve` of these requests. */
const loopback: LookupFunction = (_hostname, options, callback) => {
  if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

interface Answer {
  status: number;
  body: string;
  location: string | undefined;
  issuer: string | null;
}

/** `GET /` of `host` on Caddy's edge port: over TLS with SNI `host`, verified against `ca`, when `ca` is given. */
function get(host: string, ca?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host, path: '/', lookup: loopback, agent: false as const, timeout: 5000 };
    const onResponse = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const peer = 'getPeerCertificate' in res.socket ? (res.socket as import('node:tls').TLSSocket) : null;
        resolve({
          status: res.statusCode ?? 0,
          body: body.trim(),
          location: res.headers.location,
          issuer: [peer?.getPeerCertificate().issuer?.CN ?? []].flat().join(', ') || null,
        });
      });
    };
    const req =
      ca === undefined
        ? http.get({ ...options, port: httpPort }, onResponse)
        : https.get({ ...options, port: httpsPort, servername: host, ca }, onResponse);
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host} within 5 s`)));
  });
}

interface CertificateView {
  id: string;
  status: string;
  source: string;
  issuer: string | null;
  serialNumber: string | null;
  expiresAt: string | null;
  subjectAlternativeNames: string[];
}

interface BindingDetail {
  binding: { id: string; domainName: string; status: string; ownershipVerified: boolean };
  routeReadiness: { status: string; selectedRoute: { proxy: { applied: string }; tls: string } };
  certificates: CertificateView[];
}

const showBinding = (id: string) => rig.api.expect<BindingDetail>(200, 'GET', `/domain-bindings/${id}`);

async function bind(domainName: string): Promise<string> {
  const { id } = await rig.api.expect<{ id: string }>(201, 'POST', '/domain-bindings', {
    projectId: rig.projectId,
    environmentId: rig.environmentId,
    resourceId: rig.resourceId,
    domainName,
  });
  return id;
}

/** Caddy's whole config as its admin API serves it. */
async function caddyConfig(): Promise<string> {
  const res = await fetch(`${rig.caddy!.adminUrl}/config/`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The `@id` of every object in Caddy's config, sorted. */
const caddyIds = async () => [...(await caddyConfig()).matchAll(/"@id":"([^"]+)"/g)].map((m) => m[1]!).sort();

beforeAll(async () => {
  pebble = await startPebble();
  httpPort = await freePort();
  httpsPort = await freePort();
  rig.extraAgentEnv = {
    BERTH_PROXY_HTTP_PORT: String(httpPort),
    BERTH_PROXY_HTTPS_PORT: String(httpsPort),
    BERTH_ACME_DIRECTORY_URL: pebble.directoryUrl,
    BERTH_ACME_CA_ROOTS: pebble.caRootsFile,
    BERTH_ACME_EMAIL: 'ops@example.test',
  };
  await rig.start();
  await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/edge-proxy/configuration`, { proxyKind: 'caddy' });
  await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/edge-proxy/bootstrap`, {});
  const id = await deploy(rig.api, rig);
  const view = await ended(rig.api, id, { timeoutMs: 60_000, everyMs: 200, retryErrors: true });
  expect(view.status, `${view.errorCode}: ${view.errorMessage}`).toBe('succeeded');
}, 150_000);

afterAll(async () => {
  console.log('custom domains e2e timings', rig.timings);
  await rig.stop();
  await pebble?.stop();
}, 60_000);

describe('custom domains through the API, a real Caddy and Pebble', () => {
  let bindingId = '';

  it('binds app.example.test, gets a certificate from the ACME directory, serves the app over HTTPS and shows issuer and expiry', {
    timeout: 90_000,
  }, async () => {
    const started = Date.now();
    bindingId = await bind(domain);
    const root = await pebble.issuerRootPem();
    const answer = await eventually(
      `${domain} answers over HTTPS with a certificate Pebble's root verifies`,
      () => get(domain, root).catch(() => undefined),
      45_000,
      200,
    );
    rig.timings['bind to first HTTPS answer'] = `${Date.now() - started} ms`;
    expect(answer).toMatchObject({ status: 200, body: 'v1' });
    expect(answer.issuer).toMatch(/Pebble/);
    // Plain HTTP for the name is sent to HTTPS.
    const plain = await get(domain);
    expect(plain.status).toBe(308);
    expect(plain.location).toBe(`https://${domain}:${httpsPort}/`);

    // The API reports what Caddy serves: read back from the TLS port, not assumed.
    const shown = await eventually(
      'the binding shows an active certificate',
      async () => {
        const detail = await showBinding(bindingId);
        return detail.certificates[0]?.status === 'active' ? detail : undefined;
      },
      30_000,
      500,
    );
    const [certificate] = shown.certificates;
    expect(certificate).toMatchObject({ source: 'managed', subjectAlternativeNames: [domain] });
    expect(certificate!.issuer).toMatch(/Pebble/);
    expect(certificate!.serialNumber).toMatch(/^[0-9A-F]+$/);
    expect(Date.parse(certificate!.expiresAt!)).toBeGreaterThan(Date.now());
    const listed = await rig.api.expect<{ items: CertificateView[] }>(
      200,
      'GET',
      `/certificates?domainBindingId=${bindingId}`,
    );
    expect(listed.items.map((c) => c.id)).toEqual([certificate!.id]);
    expect(shown.routeReadiness.selectedRoute).toMatchObject({ proxy: { applied: 'applied' }, tls: 'active' });
    // Ownership was never confirmed, and the binding says so; it routed and got its certificate all the same.
    expect(shown.binding.ownershipVerified).toBe(false);
  });

  it('serves an imported certificate for a second domain, and deleting that binding removes exactly its route', {
    timeout: 90_000,
  }, async () => {
    const other = 'shop.example.test';
    const otherId = await bind(other);
    const ca = await createTestCa('Custom Domains Root');
    const leaf = await issueTestLeaf(ca, [other]);
    const imported = await rig.api.expect<{ certificateId: string }>(201, 'POST', '/certificates/import', {
      domainBindingId: otherId,
      certificateChain: leaf.chainPem,
      privateKey: leaf.privateKeyPem,
    });
    const answer = await eventually(
      `${other} answers over HTTPS with the imported certificate`,
      () => get(other, ca.certificatePem).catch(() => undefined),
      30_000,
      200,
    );
    expect(answer).toMatchObject({ status: 200, body: 'v1', issuer: 'Custom Domains Root' });

    // An active certificate blocks the delete; the refusal says what to do and changes nothing.
    const before = await caddyIds();
    const blocked = await rig.api.call('DELETE', `/domain-bindings/${otherId}`, {
      confirmation: { domainBindingId: otherId },
    });
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ code: 'CONFLICT', details: { reason: 'certificate_active' } });
    await rig.api.expect(200, 'POST', `/certificates/${imported.certificateId}/revoke`, {});
    await rig.api.expect(200, 'DELETE', `/domain-bindings/${otherId}`, { confirmation: { domainBindingId: otherId } });

    const after = await eventually(
      `${other}'s routes are gone from Caddy`,
      async () => {
        const ids = await caddyIds();
        return ids.some((id) => id.includes(otherId)) ? undefined : ids;
      },
      20_000,
      200,
    );
    expect(before.filter((id) => id.includes(otherId)).length).toBeGreaterThan(0);
    expect(after).toEqual(before.filter((id) => !id.includes(otherId)));
    expect((await caddyConfig()).includes(other)).toBe(false);
    // The first binding is untouched.
    const root = await pebble.issuerRootPem();
    expect(await get(domain, root)).toMatchObject({ status: 200, body: 'v1' });
    const gone = await rig.api.call('GET', `/domain-bindings/${otherId}`);
    expect(gone.status).toBe(404);
  });
});
