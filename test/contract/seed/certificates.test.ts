import { expect } from 'vitest';
import { failLatestAttempt } from '../../../control-plane/modules/certificates/attempts.js';
import { Certificate } from '../../../control-plane/modules/certificates/entity.js';
import { Resource } from '../../../control-plane/modules/resources/entity.js';
import { insertBindingRow } from '../../helpers/domain-binding-row.js';
import { createTestCa, issueTestLeaf, type TestCa } from '../../helpers/test-certificates.js';
import { createResource, createServer, request, rig, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

let ca: TestCa | undefined;
let counter = 0;

/**
 * A domain binding of a fresh resource, bound to a fresh server. Inserted as a row: the certificate scenarios need
 * only the binding to exist, and the domain-bindings scenarios create theirs through the API.
 */
async function createBinding(): Promise<{ id: string; domainName: string }> {
  counter += 1;
  const domainName = `cert-${counter}.contract.example.test`;
  const resourceId = await createResource();
  const serverId = await createServer();
  const em = rig.t.orm.em.fork();
  const resource = await em.findOneOrFail(Resource, resourceId);
  const id = await insertBindingRow(em, {
    organizationId: resource.organization.id,
    projectId: resource.project.id,
    environmentId: resource.environment.id,
    resourceId,
    serverId,
    domainName,
  });
  return { id, domainName };
}

const importFor = async (binding: { id: string; domainName: string }) => {
  ca ??= await createTestCa('Contract Root');
  const leaf = await issueTestLeaf(ca, [binding.domainName]);
  return request({
    method: 'POST',
    url: '/certificates/import',
    json: { domainBindingId: binding.id, certificateChain: leaf.chainPem, privateKey: leaf.privateKeyPem },
  });
};

/** An imported, active certificate of a fresh binding. */
async function importedCertificate(): Promise<string> {
  const res = await importFor(await createBinding());
  expect(res.statusCode, res.body).toBe(201);
  return res.json().certificateId;
}

describeSeedScenarios('certificates', {
  'POST /certificates/import': async () => importFor(await createBinding()),
  'GET /certificates': async () => {
    await importedCertificate();
    return request({ method: 'GET', url: '/certificates?limit=10' });
  },
  'GET /certificates/{certificateId}': async () =>
    request({ method: 'GET', url: `/certificates/${await importedCertificate()}` }),
  'DELETE /certificates/{certificateId}': async () => {
    const binding = await createBinding();
    const first = (await importFor(binding)).json().certificateId;
    // The second import supersedes the first, which is then no longer in use.
    expect((await importFor(binding)).statusCode).toBe(201);
    return request({
      method: 'DELETE',
      url: `/certificates/${first}`,
      json: { confirmation: { certificateId: first } },
    });
  },
  'POST /certificates/issue-or-renew': async () =>
    request({
      method: 'POST',
      url: '/certificates/issue-or-renew',
      json: { domainBindingId: (await createBinding()).id },
    }),
  'POST /certificates/{certificateId}/retries': async () => {
    const issued = await request({
      method: 'POST',
      url: '/certificates/issue-or-renew',
      json: { domainBindingId: (await createBinding()).id },
    });
    const { certificateId } = issued.json();
    // The attempt's deadline is minutes away: fail it as the observer would.
    const em = rig.t.orm.em.fork();
    const certificate = await em.findOneOrFail(Certificate, certificateId);
    failLatestAttempt(certificate, new Date(), 'certificate_not_served', 'issuance', 'set by the contract test', true);
    certificate.status = 'failed';
    await em.flush();
    return request({ method: 'POST', url: `/certificates/${certificateId}/retries`, json: {} });
  },
  'POST /certificates/{certificateId}/revoke': async () =>
    request({ method: 'POST', url: `/certificates/${await importedCertificate()}/revoke`, json: {} }),
});
