import { expect } from 'vitest';
import type { TestApp } from './build-test-app.js';

/** Registers a server through the API (loopback host, generic SSH provider unless `extra` says otherwise). */
export async function registerServer(
  t: TestApp,
  token: string,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await t.request({
    method: 'POST',
    url: '/servers',
    token,
    json: { name, host: '127.0.0.1', providerKey: 'generic-ssh', ...extra },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}
