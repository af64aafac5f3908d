import { createPrivateKey } from 'node:crypto';
import { AppError } from '../../../shared/errors.js';

/** Where the key material sits in the request body: `credential.` for a server, empty for `/credentials/ssh`. */
export type FieldPrefix = '' | 'credential.';

const privateKeyLabels = new Set([
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
  'DSA PRIVATE KEY',
  'OPENSSH PRIVATE KEY',
]);
const pemBlock = /^-----BEGIN ([A-Z ]+)-----\n([\s\S]+?)\n-----END \1-----$/;
const opensshMagic = 'openssh-key-v1\0';
const publicKeyTypes = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

// Every message here is fixed text: a key (or what was sent as one) is never echoed, in the answer or the logs.
const notAKey = (prefix: FieldPrefix) =>
  new AppError('validation_failed', 'The private key is not a PEM or OpenSSH private key.', {
    field: `${prefix}privateKey`,
    hint: 'Send the whole key file, from "-----BEGIN … PRIVATE KEY-----" to "-----END … PRIVATE KEY-----", line breaks included (in JSON: \\n).',
  });

/** The string at `offset` of an SSH wire-format buffer (uint32 length, then bytes), or undefined past the end. */
function sshString(buffer: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  if (offset + 4 > buffer.length) return undefined;
  const length = buffer.readUInt32BE(offset);
  const next = offset + 4 + length;
  return next > buffer.length ? undefined : { value: buffer.subarray(offset + 4, next), next };
}

/** Whether an OpenSSH key is encrypted (its cipher is not `none`); undefined when the container is malformed. */
function opensshEncrypted(body: Buffer): boolean | undefined {
  if (body.subarray(0, opensshMagic.length).toString('latin1') !== opensshMagic) return undefined;
  const cipher = sshString(body, opensshMagic.length);
  return cipher === undefined ? undefined : cipher.value.toString('latin1') !== 'none';
}

/**
 * Checks that `privateKey` is a PEM (PKCS#1, PKCS#8, SEC1) or OpenSSH private key, and that an encrypted key comes with
 * its passphrase (an unencrypted one without). PEM keys are parsed (and opened with the passphrase); OpenSSH keys are
 * checked for their container and cipher, as Node cannot parse them. Throws `VALIDATION_ERROR` naming
 * `<prefix>privateKey` or `<prefix>passphrase`.
 */
export function checkPrivateKey(privateKey: string, passphrase: string | undefined, prefix: FieldPrefix): void {
  const match = pemBlock.exec(privateKey.replace(/\r\n/g, '\n').trim());
  if (match === null || !privateKeyLabels.has(match[1]!)) throw notAKey(prefix);
  const lines = match[2]!.split('\n').map((line) => line.trim());
  const headers = lines.filter((line) => /^[A-Za-z-]+:/.test(line));
  const base64 = lines.filter((line) => line !== '' && !headers.includes(line)).join('');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw notAKey(prefix);
  const body = Buffer.from(base64, 'base64');
  if (body.length < 32) throw notAKey(prefix);

  let encrypted: boolean;
  if (match[1] === 'OPENSSH PRIVATE KEY') {
    const found = opensshEncrypted(body);
    if (found === undefined) throw notAKey(prefix);
    encrypted = found;
  } else {
    encrypted = match[1] === 'ENCRYPTED PRIVATE KEY' || headers.some((h) => /^Proc-Type:.*ENCRYPTED/.test(h));
    if (!encrypted || passphrase !== undefined) {
      try {
        createPrivateKey({ key: privateKey, format: 'pem', ...(passphrase === undefined ? {} : { passphrase }) });
      } catch {
        if (!encrypted) throw notAKey(prefix);
        throw new AppError('validation_failed', 'The passphrase does not open the private key.', {
          field: `${prefix}passphrase`,
        });
      }
    }
  }
  if (encrypted && passphrase === undefined) {
    throw new AppError('validation_failed', 'The private key is encrypted: send its passphrase too.', {
      field: `${prefix}passphrase`,
      hint: 'Or send the key unencrypted; Berth seals it at rest either way.',
    });
  }
  if (!encrypted && passphrase !== undefined) {
    throw new AppError('validation_failed', 'The private key is not encrypted, so it takes no passphrase.', {
      field: `${prefix}passphrase`,
    });
  }
}

/**
 * Checks that `publicKey` is one OpenSSH public key line (`<type> <base64> [comment]`, as in `id_ed25519.pub`) whose
 * blob names the same type. Throws `VALIDATION_ERROR` naming `<prefix>publicKey`, without echoing the value.
 */
export function checkPublicKey(publicKey: string, prefix: FieldPrefix): void {
  const [type, blob, ...rest] = publicKey.trim().split(/[ \t]+/);
  const decoded = blob !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(blob) ? Buffer.from(blob, 'base64') : undefined;
  const named = decoded === undefined ? undefined : sshString(decoded, 0)?.value.toString('latin1');
  if (type === undefined || !publicKeyTypes.has(type) || named !== type || rest.join(' ').includes('\n')) {
    throw new AppError('validation_failed', 'The public key is not an OpenSSH public key line.', {
      field: `${prefix}publicKey`,
      hint: 'Send one line like the content of id_ed25519.pub: "ssh-ed25519 AAAA… comment".',
    });
  }
}
