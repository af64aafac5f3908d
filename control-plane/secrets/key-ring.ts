import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../shared/logger.js';
import { parseKeyList, type ResolvedKeys, resolveKeys } from './key-source.js';

/**
 * Seals small secrets at rest with envelope encryption: every value gets its own random data key (DEK, AES-256-GCM),
 * and the DEK is wrapped (AES-256-GCM) by a key-encryption key (KEK). The text form is
 * `v2.<kekId>.<wrappedDek>.<iv>.<tag>.<ciphertext>` (base64url parts), so a key rotation only re-wraps the 60-byte
 * DEK and finds the values still under an old key with plain SQL. Legacy `v1.<iv>.<tag>.<ciphertext>` values
 * (sealed directly by a KEK) still open.
 */
export interface KeyRing {
  /** Seals under the primary KEK with a fresh DEK: sealing the same text twice gives different values. */
  seal(plaintext: string): string;
  /**
   * Opens a v2 value with the KEK its id names, or a v1 value with whichever KEK fits. An unknown KEK id first forces
   * a reload of the key source (a rotation may have just added it). Throws a {@link SealError}.
   */
  open(sealed: string): string;
  /**
   * The same value with its DEK wrapped by the primary KEK; iv, tag and ciphertext stay as they are. A v2 value already
   * under the primary KEK comes back unchanged; a v1 value is opened and sealed anew as v2.
   */
  rewrap(sealed: string): string;
  /** The KEK id a v2 value names, `null` for a legacy v1 value; throws a {@link SealError} for anything else. */
  keyIdOf(sealed: string): string | null;
  /** The id of the KEK new values are sealed with. */
  primaryKeyId(): string;
  /** Every KEK id the ring holds, primary first. */
  keyIds(): string[];
}

/** Why a value could not be opened; callers switch on `reason`, never on the message. */
export class SealError extends Error {
  override readonly name = 'SealError';
  constructor(
    readonly reason: 'malformed' | 'unknown_key' | 'authentication_failed',
    message: string,
    /** The KEK id the value names, when it names one. */
    readonly keyId?: string,
  ) {
    super(message);
  }
}

/** How often, at most, a ring backed by `<dataDir>/secret.key` checks whether the file changed. */
export const keyFileCheckIntervalMs = 500;

const wrapAadPrefix = 'berth dek-wrap v2 ';
const dekBytes = 32;
const ivBytes = 12;
const tagBytes = 16;

/**
 * A ring over fixed keys (the first is primary); a single `Buffer` makes a one-key ring. Keys must be 32 bytes.
 * `where` names the keys' origin in the message for a value sealed with a key the ring lacks.
 */
export function createKeyRing(keys: Buffer | Buffer[], where = 'BERTH_SECRET_KEY or <data dir>/secret.key'): KeyRing {
  const resolved = resolveKeys(Array.isArray(keys) ? keys : [keys], 'the key-encryption key');
  return ringOver(
    () => resolved,
    () => resolved,
    where,
  );
}

/** What {@link loadKeyRing} reads. */
export interface LoadKeyRingOptions {
  /** `BERTH_SECRET_KEY`: one base64 key, or several separated by commas (the first is primary). */
  secretKey: string | undefined;
  dataDir: string;
  log: Logger;
  /** Milliseconds clock for the file-check throttle; tests pass a fake one. */
  now?: () => number;
}

/**
 * The control plane's key ring. With `BERTH_SECRET_KEY` set, its keys (fixed for the life of the process). Otherwise
 * `<dataDir>/secret.key`, one base64 key per line with the primary first, created at first start (0600) with a
 * warning that it must be backed up. The file is checked for changes at most every {@link keyFileCheckIntervalMs}
 * and re-read when it changed, so a running control plane follows `berth secret-key rotate` without a restart.
 */
export function loadKeyRing(options: LoadKeyRingOptions): KeyRing {
  const file = path.join(options.dataDir, 'secret.key');
  const where = `BERTH_SECRET_KEY or ${file}`;
  if (options.secretKey !== undefined) {
    const resolved = resolveKeys(parseKeyList(options.secretKey, 'BERTH_SECRET_KEY'), 'BERTH_SECRET_KEY');
    return ringOver(
      () => resolved,
      () => resolved,
      where,
    );
  }
  if (!fs.existsSync(file)) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    options.log.warn(
      { file },
      'generated the key-encryption key; back this file up (or set BERTH_SECRET_KEY): encrypted data cannot be read without it',
    );
  }
  const watched = watchKeyFile(file, options.log, options.now ?? Date.now);
  return ringOver(watched.current, watched.reload, where);
}

/** Reads and validates a key file: one base64 key per line, primary first. */
export function readKeyFile(file: string): Buffer[] {
  return parseKeyList(fs.readFileSync(file, 'utf8'), file);
}

function watchKeyFile(file: string, log: Logger, now: () => number) {
  let stamp = fingerprint(fs.statSync(file));
  let keys = resolveKeys(readKeyFile(file), file);
  let checkedAt = now();
  let failing: string | undefined;
  const reload = (): ResolvedKeys => {
    checkedAt = now();
    try {
      const stat = fs.statSync(file);
      const next = resolveKeys(readKeyFile(file), file);
      if (next.primary.id !== keys.primary.id || next.ordered.length !== keys.ordered.length)
        log.info({ file, primaryKeyId: next.primary.id, keyIds: next.ordered.map((k) => k.id) }, 'reloaded key file');
      stamp = fingerprint(stat);
      keys = next;
      failing = undefined;
    } catch (error) {
      // A broken edit must not take the running control plane down: keep the keys that worked, and say so once per
      // kind of failure rather than on every check.
      const message = (error as Error).message;
      if (message !== failing)
        log.error({ file, err: error }, 'cannot reload the key file; keeping the keys loaded before');
      failing = message;
    }
    return keys;
  };
  const current = (): ResolvedKeys => {
    if (now() - checkedAt < keyFileCheckIntervalMs) return keys;
    checkedAt = now();
    let changed: boolean;
    try {
      changed = fingerprint(fs.statSync(file)) !== stamp;
    } catch {
      changed = true;
    }
    return changed ? reload() : keys;
  };
  return { current, reload };
}

// The inode changes on every atomic replace (rename), mtime and size on an edit in place.
const fingerprint = (stat: fs.Stats) => `${stat.ino}:${stat.mtimeMs}:${stat.size}`;

function ringOver(current: () => ResolvedKeys, reload: () => ResolvedKeys, where: string): KeyRing {
  const kekFor = (id: string): Buffer => {
    const key = current().byId.get(id) ?? reload().byId.get(id);
    if (key === undefined)
      throw new SealError('unknown_key', `sealed with key ${id}, which is not in the key ring (${where})`, id);
    return key;
  };
  const sealWithDek = (dek: Buffer, plaintext: string) => {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', dek, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { iv, tag: cipher.getAuthTag(), data };
  };
  const ring: KeyRing = {
    seal(plaintext) {
      const { primary } = current();
      const dek = randomBytes(dekBytes);
      const { iv, tag, data } = sealWithDek(dek, plaintext);
      return ['v2', primary.id, ...[wrap(primary.key, primary.id, dek), iv, tag, data].map(b64)].join('.');
    },
    open(sealed) {
      const parts = sealed.split('.');
      if (parts[0] === 'v1') return openV1(parts, current, reload, where);
      const v2 = parseV2(parts);
      const dek = unwrap(kekFor(v2.keyId), v2.keyId, v2.wrapped);
      return decrypt(dek, v2.iv, v2.tag, v2.data, 'sealed value');
    },
    rewrap(sealed) {
      const parts = sealed.split('.');
      if (parts[0] === 'v1') return ring.seal(openV1(parts, current, reload, where));
      const v2 = parseV2(parts);
      const { primary } = current();
      if (v2.keyId === primary.id) return sealed;
      const dek = unwrap(kekFor(v2.keyId), v2.keyId, v2.wrapped);
      return ['v2', primary.id, b64(wrap(primary.key, primary.id, dek)), ...parts.slice(3)].join('.');
    },
    keyIdOf(sealed) {
      const parts = sealed.split('.');
      if (parts[0] === 'v1' && parts.length === 4) return null;
      return parseV2(parts).keyId;
    },
    primaryKeyId: () => current().primary.id,
    keyIds: () => current().ordered.map((k) => k.id),
  };
  return ring;
}

const b64 = (buffer: Buffer) => buffer.toString('base64url');
const fromB64 = (text: string) => Buffer.from(text, 'base64url');

function parseV2(parts: string[]) {
  const [version, keyId, wrapped, iv, tag, data] = parts;
  if (version !== 'v2' || parts.length !== 6 || !/^[0-9a-f]{16}$/.test(keyId ?? ''))
    throw new SealError('malformed', 'not a sealed value');
  return { keyId: keyId!, wrapped: fromB64(wrapped!), iv: fromB64(iv!), tag: fromB64(tag!), data: fromB64(data!) };
}

/** The DEK encrypted by the KEK, as `iv ‖ ciphertext ‖ tag`; the KEK id is authenticated so it cannot be swapped. */
function wrap(kek: Buffer, kekId: string, dek: Buffer): Buffer {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(wrapAadPrefix + kekId));
  const wrapped = Buffer.concat([cipher.update(dek), cipher.final()]);
  return Buffer.concat([iv, wrapped, cipher.getAuthTag()]);
}

function unwrap(kek: Buffer, kekId: string, wrapped: Buffer): Buffer {
  if (wrapped.length !== ivBytes + dekBytes + tagBytes) throw new SealError('malformed', 'not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, ivBytes));
  decipher.setAAD(Buffer.from(wrapAadPrefix + kekId));
  decipher.setAuthTag(wrapped.subarray(ivBytes + dekBytes));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(ivBytes, ivBytes + dekBytes)), decipher.final()]);
  } catch {
    throw new SealError('authentication_failed', `the data key of a value sealed with key ${kekId} was altered`, kekId);
  }
}

function decrypt(key: Buffer, iv: Buffer, tag: Buffer, data: Buffer, what: string): string {
  if (iv.length !== ivBytes || tag.length !== tagBytes) throw new SealError('malformed', 'not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    throw new SealError('authentication_failed', `the ${what} was altered or sealed with another key`);
  }
}

// v1 values do not say which KEK sealed them: try each, then reload once in case a rotation just added the right one.
function openV1(parts: string[], current: () => ResolvedKeys, reload: () => ResolvedKeys, where: string): string {
  const [, iv, tag, data] = parts;
  if (parts.length !== 4 || !iv || !tag || data === undefined) throw new SealError('malformed', 'not a sealed value');
  const tried = new Set<string>();
  const attempt = (keys: ResolvedKeys): string | undefined => {
    for (const { id, key } of keys.ordered) {
      if (tried.has(id)) continue;
      tried.add(id);
      try {
        return decrypt(key, fromB64(iv), fromB64(tag), fromB64(data), 'legacy sealed value');
      } catch (error) {
        if (error instanceof SealError && error.reason === 'malformed') throw error;
      }
    }
    return undefined;
  };
  const opened = attempt(current()) ?? attempt(reload());
  if (opened !== undefined) return opened;
  throw new SealError('unknown_key', `a legacy (v1) value opens with no key in the key ring (${where})`);
}
