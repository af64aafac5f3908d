import { createResource, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

/** A resource's variables, secrets and effective configuration (the resource has `PORT` and the secret `API_KEY`). */
describeSeedScenarios('resource variables and secrets', {
  'POST /resources/{resourceId}/variables': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/variables`,
      json: { key: 'NEW_KEY', value: 'v', exposure: 'build-time' },
    }),
  'GET /resources/{resourceId}/secrets': async () =>
    request({ method: 'GET', url: `/resources/${await createResource()}/secrets` }),
  'POST /resources/{resourceId}/secrets': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/secrets`,
      json: { key: 'NEW_SECRET', value: 'v' },
    }),
  'GET /resources/{resourceId}/secrets/{key}': async () =>
    request({ method: 'GET', url: `/resources/${await createResource()}/secrets/API_KEY` }),
  'POST /resources/{resourceId}/secrets/{key}': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/secrets/API_KEY`,
      json: { value: 'rotated' },
    }),
  'DELETE /resources/{resourceId}/secrets/{key}': async () =>
    request({ method: 'DELETE', url: `/resources/${await createResource()}/secrets/API_KEY`, json: {} }),
  'POST /resources/{resourceId}/variables/import': async () =>
    request({
      method: 'POST',
      url: `/resources/${await createResource()}/variables/import`,
      json: { content: 'PORT=1\nPORT=2\nTOKEN=x\n', exposure: 'runtime' },
    }),
  'DELETE /resources/{resourceId}/variables/{key}': async () =>
    request({
      method: 'DELETE',
      url: `/resources/${await createResource()}/variables/PORT`,
      json: { exposure: 'runtime' },
    }),
  'GET /resources/{resourceId}/effective-config': async () =>
    request({ method: 'GET', url: `/resources/${await createResource()}/effective-config` }),
});
