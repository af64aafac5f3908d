import { createEnvironment, createProject, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

/** The id of a new environment with one plain and one secret variable. */
const environment = async (options: { locked?: boolean } = {}) => (await createEnvironment(options)).environmentId;

describeSeedScenarios('environments', {
  'GET /environments/count': async () => {
    const { projectId } = await createEnvironment();
    return request({ method: 'GET', url: `/environments/count?projectId=${projectId}` });
  },
  'GET /environments': async () => {
    const { projectId } = await createEnvironment({ locked: true });
    return request({ method: 'GET', url: `/environments?projectId=${projectId}&limit=10` });
  },
  'POST /environments': async () =>
    request({
      method: 'POST',
      url: '/environments',
      json: { projectId: await createProject(), name: 'seed-create', kind: 'local' },
    }),
  'GET /environments/{environmentId}': async () =>
    request({ method: 'GET', url: `/environments/${await environment({ locked: true })}` }),
  'POST /environments/{environmentId}/lock': async () =>
    request({ method: 'POST', url: `/environments/${await environment()}/lock`, json: {} }),
  'POST /environments/{environmentId}/unlock': async () =>
    request({ method: 'POST', url: `/environments/${await environment({ locked: true })}/unlock` }),
  'POST /environments/{environmentId}/archive': async () =>
    request({ method: 'POST', url: `/environments/${await environment()}/archive`, json: {} }),
  'POST /environments/{environmentId}/rename': async () =>
    request({ method: 'POST', url: `/environments/${await environment()}/rename`, json: { name: 'seed-renamed' } }),
  'POST /environments/{environmentId}/variables': async () =>
    request({
      method: 'POST',
      url: `/environments/${await environment()}/variables`,
      json: { key: 'NEW_KEY', value: 'v', kind: 'plain-config', exposure: 'build-time' },
    }),
  'DELETE /environments/{environmentId}/variables/{key}': async () =>
    request({
      method: 'DELETE',
      url: `/environments/${await environment()}/variables/LOG_LEVEL`,
      json: { exposure: 'runtime' },
    }),
  'GET /environments/{environmentId}/effective-precedence': async () =>
    request({ method: 'GET', url: `/environments/${await environment()}/effective-precedence` }),
});
