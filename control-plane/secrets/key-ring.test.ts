import { createCipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { createKeyRing, keyFileCheckIntervalMs, loadKeyRing, SealError } from './key-ring.js';
import { kekId, parseKeyList, writeKeyFile } from './key-source.js';

const log = createLogger({ level: 'silent', name: 'test' });
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-key-ring-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A value in the legacy format, sealed directly by the KEK, as key rings before envelope encryption wrote them. */
function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), data]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Replaces one base64url part of a sealed value with different bytes of the same length. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0] = bytes[0]! ^ 1;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('key ring', () => {
  it('seals as v2 under the primary key id and opens it again', () => {
    const key = randomBytes(32);
    const ring = createKeyRing(key);
    const sealed = ring.seal('-----BEGIN PRIVATE KEY----- ünïcödé');
    expect(sealed.split('.')).toHaveLength(6);
    expect(sealed.startsWith(`v2.${kekId(key)}.`)).toBe(true);
    expect(ring.keyIdOf(sealed)).toBe(ring.primaryKeyId());
    expect(ring.open(sealed)).toBe('-----BEGIN PRIVATE KEY----- ünïcödé');
    expect(ring.open(ring.seal(''))).toBe('');
  });

  it('uses a fresh data key per value: the same plaintext sealed twice differs in every part', () => {
    const ring = createKeyRing(randomBytes(32));
    const a = ring.seal('same').split('.');
    const b = ring.seal('same').split('.');
    expect(a[1]).toBe(b[1]);
    for (const index of [2, 3, 4, 5]) expect(a[index]).not.toBe(b[index]);
  });

  it('gives each key a stable 16-hex id that does not contain the key', () => {
    const key = randomBytes(32);
    expect(kekId(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(kekId(Buffer.from(key))).toBe(kekId(key));
    expect(kekId(randomBytes(32))).not.toBe(kekId(key));
    expect(key.toString('hex')).not.toContain(kekId(key));
  });

  it('rewrap moves the data key to the new primary and leaves iv, tag and ciphertext untouched', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealed = createKeyRing(oldKey).seal('secret');
    const rotated = createKeyRing([newKey, oldKey]);
    const rewrapped = rotated.rewrap(sealed);
    expect(rotated.keyIdOf(rewrapped)).toBe(kekId(newKey));
    expect(rewrapped.split('.').slice(3)).toEqual(sealed.split('.').slice(3));
    expect(createKeyRing(newKey).open(rewrapped)).toBe('secret');
    expect(rotated.rewrap(rewrapped)).toBe(rewrapped);
  });

  it('opens a legacy v1 value with whichever key sealed it and rewraps it to v2', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const legacy = sealV1(oldKey, 'legacy secret');
    const ring = createKeyRing([newKey, oldKey]);
    expect(ring.keyIdOf(legacy)).toBeNull();
    expect(ring.open(legacy)).toBe('legacy secret');
    const converted = ring.rewrap(legacy);
    expect(converted.startsWith(`v2.${kekId(newKey)}.`)).toBe(true);
    expect(createKeyRing(newKey).open(converted)).toBe('legacy secret');
    expect((thrown(() => createKeyRing(newKey).open(legacy)) as SealError).reason).toBe('unknown_key');
  });

  it('refuses a value whose wrapped data key, iv, tag or ciphertext was altered', () => {
    const ring = createKeyRing(randomBytes(32));
    const sealed = ring.seal('do not touch');
    for (const index of [2, 3, 4, 5]) {
      const error = thrown(() => ring.open(tamper(sealed, index)));
      expect(error, `part ${index}`).toBeInstanceOf(SealError);
      expect((error as SealError).reason, `part ${index}`).not.toBe('unknown_key');
    }
    expect((thrown(() => ring.open('v2.abc')) as SealError).reason).toBe('malformed');
  });

  it('refuses a value whose key id was swapped for another key of the ring', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const ring = createKeyRing([a, b]);
    const sealed = ring.seal('bound to a');
    // The wrap authenticates the key id, so relabelling it fails even though b is in the ring.
    const relabelled = sealed.replace(kekId(a), kekId(b));
    expect((thrown(() => ring.open(relabelled)) as SealError).reason).toBe('authentication_failed');
  });

  it('names the missing key id and where keys come from when a value was sealed with an unknown key', () => {
    const other = randomBytes(32);
    const sealed = createKeyRing(other).seal('x');
    const dataDir = tempDir();
    const ring = loadKeyRing({ secretKey: undefined, dataDir, log });
    const error = thrown(() => ring.open(sealed)) as SealError;
    expect(error.reason).toBe('unknown_key');
    expect(error.keyId).toBe(kekId(other));
    expect(error.message).toBe(
      `sealed with key ${kekId(other)}, which is not in the key ring (BERTH_SECRET_KEY or ${path.join(dataDir, 'secret.key')})`,
    );
  });

  it('reads a comma-separated BERTH_SECRET_KEY: the first key seals, every key opens', () => {
    const [first, second] = [randomBytes(32), randomBytes(32)];
    const ring = loadKeyRing({
      secretKey: `${first.toString('base64')}, ${second.toString('base64')}`,
      dataDir: tempDir(),
      log,
    });
    expect(ring.primaryKeyId()).toBe(kekId(first));
    expect(ring.keyIds()).toEqual([kekId(first), kekId(second)]);
    expect(ring.open(createKeyRing(second).seal('old'))).toBe('old');
    expect(createKeyRing(first).open(ring.seal('new'))).toBe('new');
  });

  it('refuses a key that is not 32 bytes of base64, naming its position and never its text', () => {
    const good = randomBytes(32).toString('base64');
    const short = randomBytes(16).toString('base64');
    expect(() => parseKeyList(`${good},${short}`, 'BERTH_SECRET_KEY')).toThrow(
      'BERTH_SECRET_KEY: key 2 is not 32 bytes in base64 (openssl rand -base64 32)',
    );
    expect(() => parseKeyList(`${good.slice(0, 20)}!!${good.slice(22)}`, 'f')).toThrow('f: key 1 is not 32 bytes');
    expect(() => parseKeyList(' \n , ', 'f')).toThrow('f holds no key');
    const error = thrown(() => loadKeyRing({ secretKey: short, dataDir: tempDir(), log })) as Error;
    expect(error.message).not.toContain(short);
  });

  it('creates a 0600 key file with one key at first start and reads one key per line, first line primary', async () => {
    const dataDir = tempDir();
    const first = loadKeyRing({ secretKey: undefined, dataDir, log });
    const file = path.join(dataDir, 'secret.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(parseKeyList(fs.readFileSync(file, 'utf8'), file)).toHaveLength(1);
    const sealed = first.seal('kept');
    const next = randomBytes(32);
    await writeKeyFile(file, [next, ...parseKeyList(fs.readFileSync(file, 'utf8'), file)]);
    const again = loadKeyRing({ secretKey: undefined, dataDir, log });
    expect(again.primaryKeyId()).toBe(kekId(next));
    expect(again.open(sealed)).toBe('kept');
  });

  it('picks up a changed key file after the check interval, without a restart', async () => {
    const dataDir = tempDir();
    let now = 0;
    const ring = loadKeyRing({ secretKey: undefined, dataDir, log, now: () => now });
    const before = ring.primaryKeyId();
    const next = randomBytes(32);
    const file = path.join(dataDir, 'secret.key');
    await writeKeyFile(file, [next, ...parseKeyList(fs.readFileSync(file, 'utf8'), file)]);
    now += keyFileCheckIntervalMs - 1;
    expect(ring.primaryKeyId(), 'still within the interval: no stat yet').toBe(before);
    now += 1;
    expect(ring.primaryKeyId()).toBe(kekId(next));
    expect(ring.keyIdOf(ring.seal('x'))).toBe(kekId(next));
  });

  it('re-reads the key file at once when a value names a key it does not hold yet', async () => {
    const dataDir = tempDir();
    const ring = loadKeyRing({ secretKey: undefined, dataDir, log, now: () => 0 });
    const file = path.join(dataDir, 'secret.key');
    const next = randomBytes(32);
    await writeKeyFile(file, [next, ...parseKeyList(fs.readFileSync(file, 'utf8'), file)]);
    // The clock never moves, so only the unknown key id can trigger the reload.
    expect(ring.open(createKeyRing(next).seal('from a rotated peer'))).toBe('from a rotated peer');
    expect(ring.primaryKeyId()).toBe(kekId(next));
  });

  it('keeps the keys it has when the key file is replaced by a broken one, logging it once', () => {
    const dataDir = tempDir();
    let now = 0;
    const lines: string[] = [];
    const capture = createLogger({
      level: 'error',
      name: 'test',
      destination: { write: (line: string) => lines.push(line) },
    });
    const ring = loadKeyRing({ secretKey: undefined, dataDir, log: capture, now: () => now });
    const sealed = ring.seal('still readable');
    fs.writeFileSync(path.join(dataDir, 'secret.key'), 'not a key\n');
    now += keyFileCheckIntervalMs;
    expect(ring.open(sealed)).toBe('still readable');
    now += keyFileCheckIntervalMs;
    expect(ring.open(sealed)).toBe('still readable');
    expect(lines.filter((line) => line.includes('cannot reload the key file'))).toHaveLength(1);
    expect(lines.join('')).not.toContain('not a key');
  });
});
