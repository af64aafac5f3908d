import { logIn, request, rig, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

describeSeedScenarios('identity and sessions', {
  'GET /bootstrap/auth/status': () => request({ method: 'GET', url: '/bootstrap/auth/status' }),
  'POST /bootstrap/auth/first-admin': async () => rig.firstAdmin,
  'GET /organizations/current-context': () => request({ method: 'GET', url: '/organizations/current-context' }),
  'GET /account/sessions': () => request({ method: 'GET', url: '/account/sessions' }),
  'POST /account/sessions/{sessionId}/revoke': async () => {
    const own = await logIn();
    return request({ method: 'POST', url: `/account/sessions/${own.sessionId}/revoke`, token: own.token, json: {} });
  },
});
