import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../shared/logger.js';

/**
 * Encrypts small secrets at rest (AES-256-GCM) with the key-encryption key. Output is self-describing text
 * `v1.<iv>.<tag>.<ciphertext>` (base64url), so a later key rotation can tell old from new.
 */
export interface KeyRing {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/** Builds a key ring from a 32-byte key. */
export function createKeyRing(key: Buffer): KeyRing {
  if (key.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), data]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    open(sealed) {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

/**
 * The key-encryption key: `BERTH_SECRET_KEY` (32 bytes, base64) when set; otherwise `<dataDir>/secret.key`, created
 * at first start (0600) with a warning that it must be backed up — without it, encrypted data cannot be read.
 */
export function loadKeyRing(options: { secretKey: string | undefined; dataDir: string; log: Logger }): KeyRing {
  if (options.secretKey !== undefined) return createKeyRing(Buffer.from(options.secretKey, 'base64'));
  const file = path.join(options.dataDir, 'secret.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    options.log.warn(
      { file },
      'generated the key-encryption key; back this file up (or set BERTH_SECRET_KEY): encrypted data cannot be read without it',
    );
  }
  return createKeyRing(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
}
