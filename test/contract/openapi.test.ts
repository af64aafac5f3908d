import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';

interface JsonSchema {
  $ref?: string;
  type?: string;
  additionalProperties?: unknown;
  required?: string[];
  properties?: Record<string, unknown>;
}
interface Media {
  content?: Record<string, { schema?: JsonSchema }>;
}
interface OperationObject {
  summary?: string;
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody?: Media & { required?: boolean };
  responses?: Record<string, Media>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, JsonSchema> };
}
interface Operation {
  key: string;
  method: string;
  path: string;
  op: OperationObject;
}

const envelopeRef = '#/components/schemas/ErrorEnvelope';

let t: TestApp;
let token: string;
let doc: OpenApiDocument;
let operations: Operation[];

beforeAll(async () => {
  t = await buildTestApp();
  ({ token } = await t.bootstrap());
  const res = await t.request({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, op })),
  );
});
afterAll(async () => t?.close());

/** The keys of the operations for which `problem` returns a reason, each with its reason. */
function offenders(problem: (op: Operation) => string | undefined): string[] {
  return operations.flatMap((op) => {
    const reason = problem(op);
    return reason === undefined ? [] : [`${op.key}: ${reason}`];
  });
}

// The agent installer's downloads are files, not JSON.
// Downloads, and the Server-Sent Events streams of deployment events.
const fileTypes = ['text/x-shellscript', 'text/javascript', 'application/octet-stream', 'text/event-stream'];
const jsonSchemaOf = (media: Media | undefined) => media?.content?.['application/json']?.schema;
const takesBody = (op: Operation) => op.method === 'post' || op.method === 'delete';

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document with operations', () => {
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(operations.length).toBeGreaterThan(0);
  });

  it('gives every operation a summary', () => {
    expect(offenders(({ op }) => (op.summary?.trim() ? undefined : 'no summary'))).toEqual([]);
  });

  it('documents a 2xx JSON response schema for every operation (a file download: its media type and schema)', () => {
    const problems = offenders(({ op }) => {
      const success = Object.entries(op.responses ?? {}).filter(([status]) => /^2(\d\d|XX)$/.test(status));
      if (success.length === 0) return 'no 2xx response';
      const schemas = success.flatMap(([, media]) => Object.entries(media.content ?? {}));
      const ok = schemas.some(
        ([type, m]) => m.schema !== undefined && (type === 'application/json' || fileTypes.includes(type)),
      );
      return ok ? undefined : 'no 2xx JSON schema';
    });
    expect(problems).toEqual([]);
  });

  it('documents 4XX and 5XX answers as the error envelope on every operation', () => {
    const problems = offenders(({ op }) => {
      const missing = ['4XX', '5XX'].filter((status) => jsonSchemaOf(op.responses?.[status])?.$ref !== envelopeRef);
      return missing.length === 0 ? undefined : `${missing.join(', ')} not ${envelopeRef}`;
    });
    expect(problems).toEqual([]);
    const envelope = doc.components?.schemas?.['ErrorEnvelope'];
    expect(envelope?.additionalProperties).toBe(false);
    expect([...(envelope?.required ?? [])].sort()).toEqual(['category', 'code', 'message', 'requestId', 'retryable']);
    expect(Object.keys(envelope?.properties ?? {}).sort()).toEqual(
      ['category', 'code', 'details', 'field', 'hint', 'message', 'requestId', 'retryable'].sort(),
    );
  });

  it('declares every path parameter of every operation', () => {
    const problems = offenders(({ path, op }) => {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path' && p.required === true).map((p) => p.name);
      const missing = names.filter((name) => !declared.includes(name));
      const unknown = declared.filter((name) => !names.includes(name));
      if (missing.length > 0) return `undeclared path parameters ${missing.join(', ')}`;
      return unknown.length > 0 ? `declares parameters not in the path: ${unknown.join(', ')}` : undefined;
    });
    expect(problems).toEqual([]);
    expect(operations.some((op) => op.path.includes('{'))).toBe(true);
  });

  it('documents a strict JSON request body schema for every POST and DELETE', () => {
    const problems = offenders((op) => {
      if (!takesBody(op)) return undefined;
      const schema = jsonSchemaOf(op.op.requestBody);
      if (schema === undefined) return 'no application/json request body schema';
      return schema.type === 'object' && schema.additionalProperties !== false
        ? 'object body without additionalProperties: false'
        : undefined;
    });
    expect(problems).toEqual([]);
  });

  it('refuses an unknown body field on every POST and DELETE, as its strict schema says', async () => {
    const problems: string[] = [];
    for (const op of operations.filter(takesBody)) {
      const res = await t.request({
        method: op.method.toUpperCase() as 'POST',
        url: op.path.replace(/\{[^}]+\}/g, 'x'),
        token,
        json: { zzUnexpected: 1 },
      });
      const body = res.json() as { code?: string; details?: { violations?: string[] } };
      const named = (body.details?.violations ?? []).some((v) => v.includes('"zzUnexpected"'));
      if (res.statusCode !== 400 || body.code !== 'VALIDATION_ERROR' || !named) {
        problems.push(`${op.key}: ${res.statusCode} ${res.body}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('lists no /api/… paths, and /api/openapi.json is the same document', async () => {
    expect(Object.keys(doc.paths).filter((path) => path === '/api' || path.startsWith('/api/'))).toEqual([]);
    const viaApi = await t.request({ method: 'GET', url: '/api/openapi.json' });
    expect(viaApi.statusCode).toBe(200);
    const apiDoc = viaApi.json() as OpenApiDocument;
    const count = (d: OpenApiDocument) => Object.values(d.paths).flatMap((ops) => Object.keys(ops)).length;
    expect(count(apiDoc)).toBe(operations.length);
    expect(apiDoc).toEqual(doc);
  });
});

describe('/docs', () => {
  it('answers HTML without a token', async () => {
    const res = await t.request({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/<html/i);
  });
});
