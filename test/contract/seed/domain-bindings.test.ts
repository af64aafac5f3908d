import { afterAll, beforeAll, expect } from 'vitest';
import { createTestCa, issueTestLeaf, type TestCa } from '../../helpers/test-certificates.js';
import { startTxtDnsServer, type TxtDnsServer } from '../../helpers/txt-dns-server.js';
import { createResource, deployedResource, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

let dns: TxtDnsServer;
beforeAll(async () => {
  dns = await startTxtDnsServer();
});
afterAll(async () => {
  await dns?.close();
});
useSeedRig({ env: () => ({ BERTH_DNS_RESOLVER: dns.address }) });

let ca: TestCa | undefined;
let counter = 0;

/** Binds a fresh domain, through the API, to `resourceId` (a fresh, undeployed resource when left out). */
async function bind(resourceId?: string): Promise<{ id: string; domainName: string }> {
  counter += 1;
  const domainName = `bind-${counter}.contract.example.test`;
  const id = resourceId ?? (await createResource());
  const resource = (await request({ method: 'GET', url: `/resources/${id}` })).json().resource;
  const res = await request({
    method: 'POST',
    url: '/domain-bindings',
    json: { projectId: resource.projectId, environmentId: resource.environmentId, resourceId: id, domainName },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id, domainName };
}

/**
 * A binding of a deployed resource whose domain points at its server (127.0.0.1) and whose ownership was checked,
 * so its DNS observation lists what was expected and seen.
 */
async function observedBinding(): Promise<{ id: string; domainName: string; resourceId: string }> {
  const resourceId = await deployedResource();
  const binding = await bind(resourceId);
  dns.setA(binding.domainName, '127.0.0.1');
  const checked = await request({
    method: 'POST',
    url: `/domain-bindings/${binding.id}/ownership-confirmations`,
    json: {},
  });
  expect(checked.statusCode, checked.body).toBe(200);
  return { ...binding, resourceId };
}

/** Imports a certificate for the binding's domain, signed by the file's test CA. */
async function importFor(binding: { id: string; domainName: string }): Promise<string> {
  ca ??= await createTestCa('Contract Root');
  const leaf = await issueTestLeaf(ca, [binding.domainName]);
  const res = await request({
    method: 'POST',
    url: '/certificates/import',
    json: { domainBindingId: binding.id, certificateChain: leaf.chainPem, privateKey: leaf.privateKeyPem },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().certificateId;
}

describeSeedScenarios('domain bindings', {
  'POST /domain-bindings': async () => {
    const resourceId = await createResource();
    const resource = (await request({ method: 'GET', url: `/resources/${resourceId}` })).json().resource;
    return request({
      method: 'POST',
      url: '/domain-bindings',
      json: {
        projectId: resource.projectId,
        environmentId: resource.environmentId,
        resourceId,
        domainName: 'create.contract.example.test',
        pathPrefix: '/',
        proxyKind: 'caddy',
        tlsMode: 'auto',
        certificatePolicy: 'auto',
      },
    });
  },
  'GET /domain-bindings': async () => {
    const { resourceId } = await observedBinding();
    return request({ method: 'GET', url: `/domain-bindings?resourceId=${resourceId}&limit=10` });
  },
  'GET /domain-bindings/{domainBindingId}': async () => {
    // A deployed resource has a generated route to fall back to; an imported certificate fills the list.
    const binding = await observedBinding();
    await importFor(binding);
    return request({ method: 'GET', url: `/domain-bindings/${binding.id}` });
  },
  'GET /domain-bindings/{domainBindingId}/delete-check': async () => {
    const binding = await bind();
    // The first certificate, superseded, is history (a warning); the second is active (a blocker).
    await importFor(binding);
    await importFor(binding);
    return request({ method: 'GET', url: `/domain-bindings/${binding.id}/delete-check` });
  },
  'DELETE /domain-bindings/{domainBindingId}': async () => {
    const { id } = await bind();
    return request({
      method: 'DELETE',
      url: `/domain-bindings/${id}`,
      json: { confirmation: { domainBindingId: id } },
    });
  },
  'POST /domain-bindings/{domainBindingId}/route': async () => {
    const { id } = await bind();
    return request({ method: 'POST', url: `/domain-bindings/${id}/route`, json: { pathPrefix: '/app' } });
  },
  'POST /domain-bindings/{domainBindingId}/ownership-confirmations': async () => {
    const { id } = await bind();
    return request({
      method: 'POST',
      url: `/domain-bindings/${id}/ownership-confirmations`,
      json: { method: 'dns-txt' },
    });
  },
  'POST /domain-bindings/{domainBindingId}/verification-retries': async () => {
    const { id } = await bind();
    return request({ method: 'POST', url: `/domain-bindings/${id}/verification-retries`, json: {} });
  },
});
