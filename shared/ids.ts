import { randomBytes } from 'node:crypto';

// Crockford's base32 without I, L, O, U, lower-cased so ids also satisfy the service-catalog pattern.
const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

/** The prefixes of Berth's ids; an id's prefix tells a reader of a log what it refers to. */
export const idPrefixes = {
  organization: 'org',
  user: 'usr',
  membership: 'mem',
  session: 'ses',
  deployToken: 'dtk',
  server: 'srv',
  enrollment: 'enr',
  command: 'cmd',
  agentSession: 'ags',
  project: 'prj',
  deployment: 'dep',
  environment: 'env',
  resource: 'res',
  configEntry: 'cfg',
  sshCredential: 'crd',
  accessPolicy: 'dap',
  domainBinding: 'dom',
  verificationAttempt: 'dva',
  certificate: 'crt',
  certificateAttempt: 'cat',
  request: 'req',
  retentionDefault: 'ret',
  thresholdPolicy: 'thp',
  prunePolicy: 'ppl',
  runtimeLogArchive: 'rla',
  terminalSession: 'tsn',
} as const;

/** A kind of object that has an id. */
export type IdKind = keyof typeof idPrefixes;

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = alphabet[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(byteCount: number): string {
  const bytes = randomBytes(byteCount);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % 32];
  return out;
}

/**
 * A new id `<prefix>-<26 chars>`: 10 characters of milliseconds (so ids sort by creation time) and 16 random
 * characters (80 bits). Lower case with a hyphen, so every id matches `^[a-z0-9][a-z0-9-]*[a-z0-9]$` and is 30
 * characters long: the same project id addresses the seed API and the service-catalog API.
 */
export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${idPrefixes[kind]}-${encodeTime(now)}${encodeRandom(16)}`;
}

/** True when `value` looks like an id of the given kind (shape only; existence is the database's business). */
export function isIdOf(kind: IdKind, value: string): boolean {
  return new RegExp(`^${idPrefixes[kind]}-[${alphabet}]{26}$`).test(value);
}
