import { expect } from 'vitest';
import { organization, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

/** A deploy token with every scope list filled, so the seed's scope arrays can be compared item by item. */
function deployTokenBody() {
  return {
    organizationId: organization(),
    displayName: 'CI',
    scope: {
      deploymentTargetIds: ['srv-contract'],
      environmentIds: ['env-contract'],
      projectIds: ['prj-contract'],
      repositoryFullNames: ['acme/web'],
      resourceIds: ['res-contract'],
      workflowCommands: ['deploy'],
    },
  };
}

async function createDeployToken(): Promise<string> {
  const res = await request({ method: 'POST', url: '/deploy-tokens', json: deployTokenBody() });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().tokenId;
}

const confirmToken = (tokenId: string) => ({ organizationId: organization(), confirmation: { tokenId } });

describeSeedScenarios('deploy tokens', {
  'GET /deploy-tokens': async () => {
    await createDeployToken();
    return request({ method: 'GET', url: `/deploy-tokens?organizationId=${organization()}` });
  },
  'POST /deploy-tokens': () => request({ method: 'POST', url: '/deploy-tokens', json: deployTokenBody() }),
  'GET /deploy-tokens/{tokenId}': async () =>
    request({ method: 'GET', url: `/deploy-tokens/${await createDeployToken()}?organizationId=${organization()}` }),
  'POST /deploy-tokens/{tokenId}/rotate': async () => {
    const id = await createDeployToken();
    return request({ method: 'POST', url: `/deploy-tokens/${id}/rotate`, json: confirmToken(id) });
  },
  'POST /deploy-tokens/{tokenId}/revoke': async () => {
    const id = await createDeployToken();
    return request({ method: 'POST', url: `/deploy-tokens/${id}/revoke`, json: confirmToken(id) });
  },
});
