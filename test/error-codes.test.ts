import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  agentErrorCodes,
  type ErrorCategory,
  type ErrorKind,
  type ErrorKindSpec,
  errorKinds,
  type PublicErrorCode,
  publicErrorCodes,
} from '../shared/errors.js';

const categories: readonly ErrorCategory[] = ['user', 'infra', 'provider', 'retryable', 'timeout'];

// Typed as a complete record, so a new public code fails type-checking until its statuses are listed here.
const statusesOf: Record<PublicErrorCode, readonly number[]> = {
  VALIDATION_ERROR: [400, 413, 415, 431],
  READONLY_FIELD: [400],
  UNAUTHORIZED: [401],
  FORBIDDEN_SCOPE: [403],
  FORBIDDEN_ROLE: [403],
  NOT_FOUND: [404],
  CONFLICT: [409],
  IDEMPOTENCY_KEY_REUSED: [409],
  RATE_LIMITED: [429],
  SERVICE_UNAVAILABLE: [503],
  INTERNAL: [500],
};

const kinds = Object.entries(errorKinds) as [ErrorKind, ErrorKindSpec][];
const docsPath = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

describe('the error kind table', () => {
  it('gives every kind exactly one known category', () => {
    expect(kinds.length).toBeGreaterThan(0);
    for (const [kind, spec] of kinds) {
      expect(typeof spec.category, kind).toBe('string');
      expect(
        categories.filter((c) => c === spec.category),
        kind,
      ).toHaveLength(1);
    }
  });

  it('maps every kind to a public code', () => {
    for (const [kind, spec] of kinds) expect(publicErrorCodes, kind).toContain(spec.code);
  });

  it('uses every public code for at least one kind', () => {
    const used = new Set(kinds.map(([, spec]) => spec.code));
    for (const code of publicErrorCodes) expect(used.has(code), code).toBe(true);
  });

  it('gives every kind an HTTP status consistent with its public code', () => {
    for (const [kind, spec] of kinds) {
      expect(statusesOf[spec.code], `${kind} (${spec.code})`).toContain(spec.httpStatus);
    }
  });

  it('marks a kind retryable exactly when its category is retryable or its code is SERVICE_UNAVAILABLE', () => {
    for (const [kind, spec] of kinds) {
      expect(spec.retryable, kind).toBe(spec.category === 'retryable' || spec.code === 'SERVICE_UNAVAILABLE');
    }
  });

  it('describes every kind in one non-empty sentence', () => {
    for (const [kind, spec] of kinds) expect(spec.description.trim(), kind).not.toBe('');
  });

  it('documents every kind and every public code in docs/errors.md', () => {
    expect(existsSync(docsPath), 'docs/errors.md exists').toBe(true);
    const docs = readFileSync(docsPath, 'utf8');
    const missing = [...kinds.map(([kind]) => `\`${kind}\``), ...publicErrorCodes.map((code) => `\`${code}\``)].filter(
      (needle) => !docs.includes(needle),
    );
    expect(missing).toEqual([]);
  });
});

describe('the command error codes', () => {
  const codes = Object.entries(agentErrorCodes);

  it('are snake_case and described in one sentence each', () => {
    for (const [code, description] of codes) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(description.trim(), code).not.toBe('');
    }
  });

  it('are all documented in docs/errors.md, and the page lists no code the table lacks', () => {
    const docs = readFileSync(docsPath, 'utf8');
    const section = docs.slice(docs.indexOf('## Command error codes'), docs.indexOf('## Rules for code'));
    const listed = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(codes.map(([code]) => code).sort());
  });
});

describe('AppError', () => {
  it('wraps an unknown error as internal and keeps it as the cause', () => {
    const original = new Error('x');
    const wrapped = AppError.from(original);
    expect(wrapped).toBeInstanceOf(AppError);
    expect(wrapped.kind).toBe('internal');
    expect(wrapped.cause).toBe(original);
    expect(wrapped.spec.code).toBe('INTERNAL');
    expect(wrapped.spec.httpStatus).toBe(500);
    // The client-facing message never carries the original's text.
    expect(AppError.from(new Error('db password is hunter2')).message).not.toContain('hunter2');
  });

  it('wraps a thrown non-Error value as internal too', () => {
    const wrapped = AppError.from('boom');
    expect(wrapped.kind).toBe('internal');
    expect(wrapped.cause).toBe('boom');
  });

  it('returns an AppError unchanged', () => {
    const error = new AppError('not_found', 'Project "p" was not found.', { field: 'projectId' });
    expect(AppError.from(error)).toBe(error);
    expect(error.spec).toBe(errorKinds.not_found);
    expect(error.field).toBe('projectId');
  });
});
