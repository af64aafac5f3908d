import type { KeyRing } from '../../secrets/key-ring.js';
import type { Deployment } from './entity.js';

/**
 * The values of a deployment's secrets, for masking what its app prints: longest first, so a secret containing
 * another is masked whole; values shorter than 4 characters are left alone (they would mask noise).
 */
export function deploymentSecretValues(
  keyRing: Pick<KeyRing, 'open'>,
  deployment: Pick<Deployment, 'snapshot' | 'sealedEnv'>,
): string[] {
  const secretKeys = new Set(
    deployment.snapshot.environmentSnapshot.variables.filter((v) => v.isSecret).map((v) => v.key),
  );
  if (secretKeys.size === 0) return [];
  const env = JSON.parse(keyRing.open(deployment.sealedEnv)) as Record<string, string>;
  return Object.entries(env)
    .filter(([key, value]) => secretKeys.has(key) && value.length >= 4)
    .map(([, value]) => value)
    .sort((a, b) => b.length - a.length);
}

/** `message` with every secret value replaced by `****`, and whether anything was. */
export function maskSecrets(message: string, secrets: readonly string[]): { message: string; masked: boolean } {
  let out = message;
  for (const secret of secrets) out = out.split(secret).join('****');
  return { message: out, masked: out !== message };
}
