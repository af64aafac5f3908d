import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { opensshKey, pemKey } from '../../../test/helpers/ssh-keys.js';
import { checkPrivateKey, checkPublicKey } from './ssh-key.js';

function fieldOf(run: () => void): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error.field;
    throw error;
  }
  return undefined;
}

describe('checkPrivateKey', () => {
  it('accepts PEM and OpenSSH private keys, with CRLF line ends too', () => {
    expect(fieldOf(() => checkPrivateKey(pemKey().privateKey, undefined, ''))).toBeUndefined();
    expect(fieldOf(() => checkPrivateKey(opensshKey().privateKey, undefined, ''))).toBeUndefined();
    const crlf = opensshKey().privateKey.replace(/\n/g, '\r\n');
    expect(fieldOf(() => checkPrivateKey(crlf, undefined, 'credential.'))).toBeUndefined();
  });

  it('refuses what is not a private key, naming the field under its prefix', () => {
    const { privateKey, publicKey } = pemKey();
    const notKeys = [
      'hunter2',
      publicKey,
      privateKey.replace('PRIVATE KEY-----\n', 'PRIVATE KEY-----\n!!'),
      privateKey.split('\n').slice(0, 2).join('\n'),
      privateKey.replace(/-----END PRIVATE KEY-----/, '-----END RSA PRIVATE KEY-----'),
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGFuIG9wZW5zc2gga2V5IGNvbnRhaW5lciBhdCBhbGwsIG5vdCBhdCBhbGw=\n-----END OPENSSH PRIVATE KEY-----',
    ];
    for (const text of notKeys) {
      expect(
        fieldOf(() => checkPrivateKey(text, undefined, 'credential.')),
        text,
      ).toBe('credential.privateKey');
    }
  });

  it('never puts the key in the error', () => {
    try {
      checkPrivateKey('-----BEGIN PRIVATE KEY-----\nTOPSECRETVALUE\n-----END PRIVATE KEY-----', undefined, '');
      expect.unreachable();
    } catch (error) {
      expect(JSON.stringify({ ...(error as AppError), message: (error as AppError).message })).not.toContain(
        'TOPSECRETVALUE',
      );
    }
  });

  it('wants the passphrase of an encrypted key, and refuses a wrong one or one for a plain key', () => {
    const encrypted = pemKey('correct horse').privateKey;
    expect(fieldOf(() => checkPrivateKey(encrypted, undefined, ''))).toBe('passphrase');
    expect(fieldOf(() => checkPrivateKey(encrypted, 'wrong', ''))).toBe('passphrase');
    expect(fieldOf(() => checkPrivateKey(encrypted, 'correct horse', ''))).toBeUndefined();
    expect(fieldOf(() => checkPrivateKey(opensshKey({ encrypted: true }).privateKey, undefined, ''))).toBe(
      'passphrase',
    );
    expect(fieldOf(() => checkPrivateKey(opensshKey({ encrypted: true }).privateKey, 'pw', ''))).toBeUndefined();
    expect(fieldOf(() => checkPrivateKey(pemKey().privateKey, 'pw', ''))).toBe('passphrase');
  });
});

describe('checkPublicKey', () => {
  it('accepts an OpenSSH public key line and refuses anything else', () => {
    const { publicKey, privateKey } = opensshKey();
    expect(fieldOf(() => checkPublicKey(publicKey, ''))).toBeUndefined();
    expect(fieldOf(() => checkPublicKey(publicKey.split(' ').slice(0, 2).join(' '), ''))).toBeUndefined();
    for (const text of [privateKey, 'ssh-ed25519', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAA', `x${publicKey}`]) {
      expect(
        fieldOf(() => checkPublicKey(text, 'credential.')),
        text,
      ).toBe('credential.publicKey');
    }
    // The blob names ssh-ed25519: announcing it as ssh-rsa is refused.
    expect(fieldOf(() => checkPublicKey(publicKey.replace('ssh-ed25519', 'ssh-rsa'), ''))).toBe('publicKey');
  });
});
