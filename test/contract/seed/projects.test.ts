import { createProject, request, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

describeSeedScenarios('projects', {
  'GET /projects/count': async () => {
    await createProject();
    return request({ method: 'GET', url: '/projects/count' });
  },
  'GET /projects': async () => {
    await createProject({ archived: true });
    return request({ method: 'GET', url: '/projects?limit=10' });
  },
  'POST /projects': () => request({ method: 'POST', url: '/projects', json: { name: 'Seed Create' } }),
  'GET /projects/{projectId}': async () =>
    request({ method: 'GET', url: `/projects/${await createProject({ archived: true })}` }),
  'DELETE /projects/{projectId}': async () => {
    const id = await createProject({ archived: true });
    return request({ method: 'DELETE', url: `/projects/${id}`, json: { confirmation: { projectId: id } } });
  },
  'POST /projects/{projectId}/rename': async () =>
    request({ method: 'POST', url: `/projects/${await createProject()}/rename`, json: { name: 'Seed Renamed' } }),
  'POST /projects/{projectId}/description': async () =>
    request({
      method: 'POST',
      url: `/projects/${await createProject()}/description`,
      json: { description: 'new words' },
    }),
  'POST /projects/{projectId}/archive': async () =>
    request({ method: 'POST', url: `/projects/${await createProject()}/archive`, json: { reason: 'done' } }),
  'POST /projects/{projectId}/restore': async () =>
    request({ method: 'POST', url: `/projects/${await createProject({ archived: true })}/restore` }),
  'GET /projects/{projectId}/delete-check': async () =>
    request({ method: 'GET', url: `/projects/${await createProject()}/delete-check` }),
});
