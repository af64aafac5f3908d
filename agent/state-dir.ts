import { access, chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import nodePath from 'node:path';
import { readJsonFile, writeFileAtomic } from './json-file.js';

/** The files of the agent's state folder. */
export interface StatePaths {
  dir: string;
  /** The enrollment: where the control plane is and who this server is (0600). */
  agentJson: string;
  /** Folder (0700) for the key, the client certificate and the pinned CA. */
  credentialsDir: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  /** A renewed key and certificate waiting to replace the current pair (see {@link readCredentials}). */
  nextKeyPem: string;
  nextCertPem: string;
  replayCache: string;
  spool: string;
  status: string;
}

/** The layout of `stateDir`. */
export function statePaths(stateDir: string): StatePaths {
  const credentialsDir = nodePath.join(stateDir, 'credentials');
  return {
    dir: stateDir,
    agentJson: nodePath.join(stateDir, 'agent.json'),
    credentialsDir,
    keyPem: nodePath.join(credentialsDir, 'key.pem'),
    certPem: nodePath.join(credentialsDir, 'cert.pem'),
    caPem: nodePath.join(credentialsDir, 'ca.pem'),
    nextKeyPem: nodePath.join(credentialsDir, 'key.next.pem'),
    nextCertPem: nodePath.join(credentialsDir, 'cert.next.pem'),
    replayCache: nodePath.join(stateDir, 'replay-cache.json'),
    spool: nodePath.join(stateDir, 'spool.json'),
    status: nodePath.join(stateDir, 'status.json'),
  };
}

/** What enrollment established; saved as `agent.json`. */
export interface Enrollment {
  controlPlaneUrl: string;
  /** The agent gateway as `host:port`. */
  grpcUrl: string;
  /** The name the gateway's certificate carries (TLS target name override). */
  grpcServerName: string;
  serverId: string;
  enrolledAt: string;
}

/** The agent's TLS material, PEM. */
export interface Credentials {
  keyPem: string;
  certPem: string;
  caPem: string;
}

const enrollmentKeys = ['controlPlaneUrl', 'grpcUrl', 'grpcServerName', 'serverId', 'enrolledAt'] as const;

/** The saved enrollment, or `undefined` when this server was never enrolled. A damaged file throws. */
export async function readEnrollment(paths: StatePaths): Promise<Enrollment | undefined> {
  const raw = await readJsonFile(paths.agentJson);
  if (raw === undefined) return undefined;
  const record = raw as Record<string, unknown>;
  for (const key of enrollmentKeys) {
    if (typeof record[key] !== 'string' || record[key] === '') {
      throw new Error(`${paths.agentJson} has no "${key}"; enroll again with "berth agent enroll --force"`);
    }
  }
  return record as unknown as Enrollment;
}

/**
 * Saves a new enrollment. The credentials go first and `agent.json` last, so an interrupted enrollment leaves
 * no `agent.json` and counts as not enrolled. Files that belonged to a previous identity (replay cache, spool,
 * status, a half-finished renewal) are removed: none of them is valid for the new server id.
 */
export async function writeEnrollment(paths: StatePaths, enrollment: Enrollment, credentials: Credentials) {
  // The folder itself is readable so `berth agent status` works for operators; every sensitive file has its own
  // tight mode (agent.json, the replay cache and the spool 0600, credentials/ 0700).
  await mkdir(paths.dir, { recursive: true, mode: 0o755 });
  await mkdir(paths.credentialsDir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing folder's mode alone: tighten it in case it was created by hand.
  await chmod(paths.credentialsDir, 0o700);
  await rm(paths.agentJson, { force: true });
  for (const file of [paths.replayCache, paths.spool, paths.status, paths.nextKeyPem, paths.nextCertPem]) {
    await rm(file, { force: true });
  }
  await writeFileAtomic(paths.keyPem, credentials.keyPem, 0o600);
  await writeFileAtomic(paths.certPem, credentials.certPem, 0o644);
  await writeFileAtomic(paths.caPem, credentials.caPem, 0o644);
  await writeFileAtomic(paths.agentJson, `${JSON.stringify(enrollment, null, 2)}\n`, 0o600);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The files a renewal touches. */
export type RotationPaths = Pick<StatePaths, 'keyPem' | 'certPem' | 'nextKeyPem' | 'nextCertPem'>;

/**
 * Installs a renewed key and certificate. Both are first written completely as `*.next.pem`; then the key and
 * the certificate are renamed into place. A crash between the two renames is repaired by the next
 * {@link readCredentials}, which finishes any rotation it finds, so the agent never loads a mismatched pair.
 */
export async function saveRenewedCredentials(paths: RotationPaths, keyPem: string, certPem: string): Promise<void> {
  await writeFileAtomic(paths.nextKeyPem, keyPem, 0o600);
  await writeFileAtomic(paths.nextCertPem, certPem, 0o600);
  await finishRotation(paths);
}

async function finishRotation(paths: RotationPaths): Promise<void> {
  // The certificate is the commit point: key.next.pem alone is an abandoned write and is dropped.
  if (await exists(paths.nextCertPem)) {
    if (await exists(paths.nextKeyPem)) await rename(paths.nextKeyPem, paths.keyPem);
    await chmod(paths.nextCertPem, 0o644);
    await rename(paths.nextCertPem, paths.certPem);
  } else {
    await rm(paths.nextKeyPem, { force: true });
  }
}

/** Loads the key, the client certificate and the pinned CA, completing an interrupted renewal first. */
export async function readCredentials(paths: StatePaths): Promise<Credentials> {
  await finishRotation(paths);
  const [keyPem, certPem, caPem] = await Promise.all(
    [paths.keyPem, paths.certPem, paths.caPem].map((file) => readFile(file, 'utf8')),
  );
  return { keyPem: keyPem!, certPem: certPem!, caPem: caPem! };
}
