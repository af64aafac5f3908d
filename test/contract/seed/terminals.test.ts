import { deployedResource, request, sql, useSeedRig } from './fixtures.js';
import { describeSeedScenarios } from './scenarios.js';

useSeedRig();

let sessionId: string | undefined;

/** A session in the deployed resource's container (the fixtures' fake agent says it runs). */
async function session(): Promise<string> {
  if (sessionId !== undefined) return sessionId;
  const res = await request({
    method: 'POST',
    url: '/terminal-sessions',
    json: { scope: { kind: 'resource', resourceId: await deployedResource() } },
  });
  sessionId = res.json().sessionId;
  return sessionId!;
}

/** Terminal sessions (seed §2.5); the WebSocket itself is exercised end to end with a real agent. */
describeSeedScenarios('terminal sessions', {
  'POST /terminal-sessions': async () =>
    request({
      method: 'POST',
      url: '/terminal-sessions',
      json: { scope: { kind: 'resource', resourceId: await deployedResource() }, initialRows: 30, initialCols: 100 },
    }),
  'GET /terminal-sessions': async () => {
    await session();
    return request({ method: 'GET', url: '/terminal-sessions' });
  },
  'GET /terminal-sessions/{sessionId}': async () =>
    request({ method: 'GET', url: `/terminal-sessions/${await session()}` }),
  'POST /terminal-sessions/{sessionId}/close': async () =>
    request({ method: 'POST', url: `/terminal-sessions/${await session()}/close`, json: {} }),
  'POST /terminal-sessions/expire': async () => {
    // A session nobody attached to for ten minutes.
    const res = await request({
      method: 'POST',
      url: '/terminal-sessions',
      json: { scope: { kind: 'resource', resourceId: await deployedResource() } },
    });
    await sql("update terminal_sessions set created_at = now() - interval '10 minutes' where id = ?", [
      res.json().sessionId,
    ]);
    return request({ method: 'POST', url: '/terminal-sessions/expire', json: {} });
  },
});
