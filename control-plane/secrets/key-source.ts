import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where the key-encryption keys (KEKs) come from: the `BERTH_SECRET_KEY` list, fixed for the life of a process, or
 * `<dataDir>/secret.key`, which running control planes re-read when it changes.
 */
export type KeySource = { kind: 'env'; keys: Buffer[] } | { kind: 'file'; file: string };

/** One KEK and its id. */
export interface Kek {
  id: string;
  key: Buffer;
}

/** A validated key list: the primary (first) key, every key in order, and a lookup by id. */
export interface ResolvedKeys {
  primary: Kek;
  ordered: Kek[];
  byId: Map<string, Buffer>;
}

const idLabel = 'berth kek-id v1\0';
const keyBytes = 32;

/**
 * The id of a KEK: the first 16 hex characters of SHA-256 over a fixed label and the key. It names the key in sealed
 * values, logs and messages without revealing anything usable about it.
 */
export function kekId(key: Buffer): string {
  return createHash('sha256').update(idLabel).update(key).digest('hex').slice(0, 16);
}

/** The key source the control plane uses with these settings: `BERTH_SECRET_KEY` when set, else the data folder's file. */
export function resolveKeySource(options: { secretKey: string | undefined; dataDir: string }): KeySource {
  if (options.secretKey !== undefined)
    return { kind: 'env', keys: parseKeyList(options.secretKey, 'BERTH_SECRET_KEY') };
  return { kind: 'file', file: path.join(options.dataDir, 'secret.key') };
}

/** `BERTH_SECRET_KEY` or the key file's path, for messages. */
export function keySourceLabel(source: KeySource): string {
  return source.kind === 'env' ? 'BERTH_SECRET_KEY' : source.file;
}

/**
 * Parses base64 keys separated by commas or line breaks (blank entries ignored), primary first. Throws naming `origin`
 * and the key's position when one is not 32 bytes; the message never contains key material.
 */
export function parseKeyList(text: string, origin: string): Buffer[] {
  const entries = text
    .split(/[,\r\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error(`${origin} holds no key`);
  return entries.map((entry, index) => {
    const key = Buffer.from(entry, 'base64');
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(entry) || key.length !== keyBytes)
      throw new Error(`${origin}: key ${index + 1} is not ${keyBytes} bytes in base64 (openssl rand -base64 32)`);
    return key;
  });
}

/** Checks every key is 32 bytes and gives each its id; a key listed twice counts once. */
export function resolveKeys(keys: Buffer[], origin: string): ResolvedKeys {
  if (keys.length === 0) throw new Error(`${origin} holds no key`);
  const byId = new Map<string, Buffer>();
  keys.forEach((key, index) => {
    if (key.length !== keyBytes) throw new Error(`${origin}: key ${index + 1} must be ${keyBytes} bytes`);
    byId.set(kekId(key), key);
  });
  const ordered = [...byId].map(([id, key]) => ({ id, key }));
  return { primary: ordered[0]!, ordered, byId };
}

/** A fresh random KEK. */
export function generateKek(): Buffer {
  return randomBytes(keyBytes);
}

/**
 * Replaces the key file with `keys` (one base64 key per line, primary first) atomically: a 0600 temporary file next
 * to it is written, flushed and renamed over it, so a control plane re-reading the file sees the old list or the new
 * one, never half of either. The file keeps its owner when root rewrites it.
 */
export async function writeKeyFile(file: string, keys: Buffer[]): Promise<void> {
  const previous = await fs.stat(file).catch(() => undefined);
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(keys.map((key) => `${key.toString('base64')}\n`).join(''));
    if (previous && process.getuid?.() === 0) await handle.chown(previous.uid, previous.gid);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  // The rename itself must survive a power cut, or the file could come back holding keys the values no longer use.
  const dir = await fs.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
