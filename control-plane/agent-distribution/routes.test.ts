import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../test/helpers/build-test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('agent distribution', () => {
  it('serves the install script without a token', async () => {
    const res = await t.request({ method: 'GET', url: '/install.sh' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/x-shellscript');
    expect(res.body.startsWith('#!/bin/sh')).toBe(true);
  });

  it('lists a bundle and a runtime whose SHA-256 sums match what it serves', async () => {
    const manifest = (await t.request({ method: 'GET', url: '/agent/manifest' })).json();
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    const bundle = await t.request({ method: 'GET', url: manifest.bundlePath });
    expect(bundle.statusCode).toBe(200);
    expect(sha256(bundle.rawPayload)).toBe(manifest.bundleSha256);
    expect(bundle.rawPayload.length).toBe(manifest.bundleSize);
    const [key, runtime] = Object.entries(manifest.runtimes)[0] as [
      string,
      { path: string; sha256: string; size: number },
    ];
    expect(key).toBe(`${process.platform}-${process.arch}`);
    const binary = await t.request({ method: 'GET', url: runtime.path });
    expect(binary.rawPayload.length).toBe(runtime.size);
    expect(sha256(binary.rawPayload)).toBe(runtime.sha256);
  });

  it('answers NOT_FOUND with a hint for a runtime it does not have', async () => {
    const res = await t.request({ method: 'GET', url: '/agent/node/linux-riscv64' });
    expect(res.statusCode).toBe(404);
    expect(res.json().hint).toContain('install Node.js 20');
  });
});
