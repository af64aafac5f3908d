import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** A key pair for tests, in the formats clients send: PEM (PKCS#8) or OpenSSH, and its `.pub` line. */
export interface TestSshKey {
  privateKey: string;
  publicKey: string;
}

const sshString = (value: Buffer | string) => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const armor = (label: string, body: Buffer) =>
  `-----BEGIN ${label}-----\n${(body.toString('base64').match(/.{1,70}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;

function ed25519Raw() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  return { publicKey, privateKey, pub, seed };
}

const publicLine = (pub: Buffer, comment: string) =>
  `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]).toString('base64')} ${comment}`;

/** An Ed25519 key as PKCS#8 PEM; with `passphrase`, encrypted with it (AES-256-CBC). */
export function pemKey(passphrase?: string): TestSshKey {
  const { privateKey, pub } = ed25519Raw();
  const pem = privateKey.export({
    type: 'pkcs8',
    format: 'pem',
    ...(passphrase === undefined ? {} : { cipher: 'aes-256-cbc', passphrase }),
  }) as string;
  return { privateKey: pem, publicKey: publicLine(pub, 'test@berth') };
}

/**
 * An Ed25519 key in OpenSSH's own format (`-----BEGIN OPENSSH PRIVATE KEY-----`), as `ssh-keygen` writes it. With
 * `encrypted`, the container names a cipher (its private section is then random bytes: enough for format checks).
 */
export function opensshKey(options: { encrypted?: boolean } = {}): TestSshKey {
  const { pub, seed } = ed25519Raw();
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let section = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString('test@berth'),
  ]);
  const padding = Buffer.from([1, 2, 3, 4, 5, 6, 7].slice(0, (8 - (section.length % 8)) % 8));
  section = Buffer.concat([section, padding]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString(options.encrypted ? 'aes256-ctr' : 'none'),
    sshString(options.encrypted ? 'bcrypt' : 'none'),
    sshString(options.encrypted ? Buffer.concat([sshString(randomBytes(16)), uint32(16)]) : ''),
    uint32(1),
    sshString(publicBlob),
    sshString(options.encrypted ? randomBytes(section.length) : section),
  ]);
  return { privateKey: armor('OPENSSH PRIVATE KEY', body), publicKey: publicLine(pub, 'test@berth') };
}

/**
 * The base64 lines of a PEM block's body (the key itself), each of which must never show up in an answer, a log line
 * or a database row. Lines, not the joined body: JSON and SQL text keep the key's line breaks (escaped), not its lines.
 */
export function keyLines(privateKey: string): string[] {
  return privateKey
    .split(/\r?\n/)
    .filter((line) => line.length >= 40 && !line.startsWith('-----') && !line.includes(':'));
}
