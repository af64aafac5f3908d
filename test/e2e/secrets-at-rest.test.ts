import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigurationService } from '../../control-plane/modules/configuration/service.js';
import { createResourceService } from '../../control-plane/modules/resources/service.js';
import { createResourceVariableService } from '../../control-plane/modules/resources/variables.js';
import { loadKeyRing } from '../../control-plane/secrets/key-ring.js';
import { rotateSecretKey } from '../../control-plane/secrets/rotate.js';
import { createLogger } from '../../shared/logger.js';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';

const run = promisify(execFile);
const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';

let t: TestApp;
let token: string;
const responses: string[] = [];
// Distinct random plaintexts, so a hit can only be a leak of this test's secrets.
const secrets = {
  environment: `env-secret-${randomBytes(12).toString('hex')}`,
  resource: `res-secret-${randomBytes(12).toString('hex')}`,
  variable: `var-secret-${randomBytes(12).toString('hex')}`,
  imported: `imp-secret-${randomBytes(12).toString('hex')}`,
  rotated: `rot-secret-${randomBytes(12).toString('hex')}`,
};
let resourceId: string;
let environmentId: string;

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, json?: unknown) {
  const res = await t.request({ method, url, token, ...(json === undefined ? {} : { json }) });
  responses.push(res.body);
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res;
}

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
  const projectId = (await call('POST', '/projects', { name: 'Vault' })).json().id;
  environmentId = (await call('POST', '/environments', { projectId, name: 'production', kind: 'production' })).json()
    .id;
  await call('POST', `/environments/${environmentId}/variables`, {
    key: 'SHARED_TOKEN',
    value: secrets.environment,
    kind: 'secret',
  });
  resourceId = (
    await call('POST', '/resources', {
      projectId,
      environmentId,
      name: 'api',
      source: { kind: 'docker-image', locator: 'busybox:1.36' },
      networkProfile: { internalPort: 8080 },
    })
  ).json().id;
  await call('POST', `/resources/${resourceId}/secrets`, { key: 'STRIPE_KEY', value: 'first-value' });
  await call('POST', `/resources/${resourceId}/secrets/STRIPE_KEY`, { value: secrets.rotated });
  await call('POST', `/resources/${resourceId}/secrets`, { key: 'DB_PASSWORD', value: secrets.resource });
  await call('POST', `/resources/${resourceId}/variables`, {
    key: 'SIGNING_SALT',
    value: secrets.variable,
    kind: 'secret',
  });
  await call('POST', `/resources/${resourceId}/variables/import`, {
    content: `SESSION_SECRET=${secrets.imported}\nPORT=8080`,
  });
  for (const url of [
    `/environments/${environmentId}`,
    '/environments',
    `/environments/${environmentId}/effective-precedence`,
    `/resources/${resourceId}?includeProfileDiagnostics=true`,
    '/resources',
    `/resources/${resourceId}/secrets`,
    `/resources/${resourceId}/secrets/DB_PASSWORD`,
    `/resources/${resourceId}/effective-config`,
  ]) {
    await call('GET', url);
  }
});
afterAll(async () => t?.close());

describe('secrets at rest', () => {
  it('are nowhere in a pg_dump of the database, in any API response or in the logs', async () => {
    const { stdout: dump } = await run(PG_DUMP, ['--data-only', '--no-owner', t.db.url], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(dump).toContain('config_entries');
    expect(dump).toContain('SESSION_SECRET');
    const logs = t.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const [name, plaintext] of Object.entries(secrets)) {
      expect(dump.includes(plaintext), `${name} secret in the database dump`).toBe(false);
      expect(
        responses.some((body) => body.includes(plaintext)),
        `${name} secret in an API response`,
      ).toBe(false);
      expect(logs.includes(plaintext), `${name} secret in the logs`).toBe(false);
    }
  });

  it('are stored as envelope-sealed text that names its key', async () => {
    const rows = await t.orm.em
      .fork()
      .getConnection()
      .execute<{ key: string; plain_value: string | null; sealed_value: string | null }[]>(
        'select key, plain_value, sealed_value from config_entries where is_secret order by key',
      );
    expect(rows.map((r) => r.key)).toEqual([
      'DB_PASSWORD',
      'SESSION_SECRET',
      'SHARED_TOKEN',
      'SIGNING_SALT',
      'STRIPE_KEY',
    ]);
    for (const row of rows) {
      expect(row.plain_value).toBeNull();
      expect(t.keyRing.keyIdOf(row.sealed_value ?? '')).toBe(t.keyRing.primaryKeyId());
    }
  });

  it('are decrypted, with the right precedence, by the deployment path', async () => {
    const configuration = createConfigurationService({ now: () => new Date(), keyRing: t.keyRing });
    const variables = createResourceVariableService({
      now: () => new Date(),
      configuration,
      resources: createResourceService({ now: () => new Date() }),
    });
    const resolved = await variables.resolveForDeployment(t.orm.em.fork(), environmentId, resourceId);
    expect(Object.fromEntries(resolved.map((e) => [e.key, e.value]))).toEqual({
      DB_PASSWORD: secrets.resource,
      PORT: '8080',
      SESSION_SECRET: secrets.imported,
      SHARED_TOKEN: secrets.environment,
      SIGNING_SALT: secrets.variable,
      STRIPE_KEY: secrets.rotated,
    });
  });
});

describe('a key rotation', () => {
  it('keeps every secret readable by the deployment path, while the API keeps sealing new ones', async () => {
    const dataDir = await mkdtemp('/tmp/berth-rotation-');
    const log = createLogger({ level: 'silent', name: 'rotation' });
    const app = await buildTestApp({ keyRing: loadKeyRing({ secretKey: undefined, dataDir, log }) });
    try {
      const admin = await app.bootstrap();
      const post = async (url: string, json: unknown) => {
        const res = await app.request({ method: 'POST', url, token: admin.token, json });
        expect(res.statusCode, res.body).toBeLessThan(300);
        return res.json();
      };
      const project = (await post('/projects', { name: 'Rotating' })).id;
      const environment = (await post('/environments', { projectId: project, name: 'prod' })).id;
      const resource = (await post('/resources', { projectId: project, environmentId: environment, name: 'api' })).id;
      const expected: Record<string, string> = {};
      for (let i = 0; i < 30; i++) {
        expected[`SECRET_${i}`] = `value-${i}-${randomBytes(6).toString('hex')}`;
        await post(`/resources/${resource}/secrets`, { key: `SECRET_${i}`, value: expected[`SECRET_${i}`] });
      }
      const oldKeyId = app.keyRing.primaryKeyId();
      const db = new pg.Client({ connectionString: app.db.url });
      await db.connect();
      // Writes go on during the rotation, as they would on a live control plane.
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          expected[`DURING_${i}`] = `during-${i}`;
          await post(`/resources/${resource}/secrets`, { key: `DURING_${i}`, value: `during-${i}` });
        }
      })();
      try {
        const result = await rotateSecretKey({
          db,
          keySource: { kind: 'file', file: `${dataDir}/secret.key` },
          log,
          settleMs: 600,
        });
        expect(result.oldKeyIds).toEqual([oldKeyId]);
        expect(result.columns.find((c) => c.table === 'config_entries')?.rewrapped).toBeGreaterThanOrEqual(1);
      } finally {
        writing = false;
        await writer;
        await db.end();
      }
      expect(app.keyRing.primaryKeyId()).not.toBe(oldKeyId);
      const configuration = createConfigurationService({ now: () => new Date(), keyRing: app.keyRing });
      const variables = createResourceVariableService({
        now: () => new Date(),
        configuration,
        resources: createResourceService({ now: () => new Date() }),
      });
      const resolved = await variables.resolveForDeployment(app.orm.em.fork(), environment, resource);
      expect(Object.fromEntries(resolved.map((e) => [e.key, e.value]))).toEqual(expected);
      const keyIds = await app.orm.em
        .fork()
        .getConnection()
        .execute<{ id: string }[]>("select distinct split_part(sealed_value, '.', 2) as id from config_entries");
      expect(keyIds.map((r) => r.id)).toEqual([app.keyRing.primaryKeyId()]);
    } finally {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
