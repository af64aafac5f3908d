import { parseArgs } from 'node:util';
import { controlPlaneSettings, parseControlPlaneConfig } from '../control-plane/config.js';
import { parseKeyList, resolveKeySource } from '../control-plane/secrets/key-source.js';
import { type RotationProgress, type RotationResult, rotateSecretKey } from '../control-plane/secrets/rotate.js';
import { connectCommandDatabase } from '../control-plane/secrets/rotation-database.js';
import type { SealedColumn } from '../control-plane/secrets/sealed-columns.js';
import { createLogger, type LogLevel } from '../shared/logger.js';

/** The process as `berth secret-key` sees it; tests pass their own. */
export interface SecretKeyCliIo {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** What tests may change about the command: the registered sealed columns. */
export interface SecretKeyCliOptions {
  columns?: readonly SealedColumn[];
}

/** The text of `berth secret-key --help`. */
export const secretKeyUsage = `berth secret-key rotate — move every sealed secret to a new key-encryption key, without downtime

Usage:
  berth secret-key rotate [--new-key <base64>] [--keep-previous]

It reads the same settings as "berth control-plane": BERTH_DATA_DIR, BERTH_DATABASE_URL (unset: the embedded
PostgreSQL of the data folder, joined if a control plane runs it, otherwise started for the command) and
BERTH_SECRET_KEY. Progress goes to standard error, the summary to standard output. See docs/secrets.md.

With the key in <data dir>/secret.key (BERTH_SECRET_KEY unset), one step:
  berth secret-key rotate
  A new key is generated (or taken from --new-key) and written first into secret.key, the old keys after it;
  running control planes re-read the file within a second and seal with the new key. Every sealed value is then
  re-wrapped under the new key and verified, and secret.key is left holding only the new key (all of them with
  --keep-previous). Back the file up afterwards. With several replicas, each must read this same file.

With BERTH_SECRET_KEY, three steps:
  1. new=$(openssl rand -base64 32); set BERTH_SECRET_KEY=<new>,<old> on every control plane and restart them
     one at a time (each then seals with the new key and still opens values sealed with the old one).
  2. BERTH_SECRET_KEY=<new>,<old> berth secret-key rotate --new-key <new>   (or BERTH_NEW_SECRET_KEY=<new>)
     re-wraps every value under the new key and verifies it.
  3. Set BERTH_SECRET_KEY=<new> everywhere and restart them one at a time.

Options:
  --new-key <base64>   the new key (32 bytes, base64: openssl rand -base64 32); required with BERTH_SECRET_KEY
  --keep-previous      keep the old keys in secret.key after the new one
  --help               this text
`;

const settingFlags = Object.fromEntries(
  Object.values(controlPlaneSettings).map((s) => [s.flag, { type: 'string' as const }]),
);

/** Runs `berth secret-key <argv>`; resolves to the exit code (0 done, 1 failed, 2 bad usage). */
export async function runSecretKeyCli(
  argv: string[],
  io: SecretKeyCliIo,
  options: SecretKeyCliOptions = {},
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(secretKeyUsage);
    return 0;
  }
  const usageError = (message: string) => {
    io.stderr(`berth secret-key: ${message}\nRun "berth secret-key --help" for the procedure.\n`);
    return 2;
  };
  if (command !== 'rotate') return usageError(`unknown command "${command}"`);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        ...settingFlags,
        'new-key': { type: 'string' },
        'keep-previous': { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values['help']) {
    io.stdout(secretKeyUsage);
    return 0;
  }

  let settings: ReturnType<typeof readSettings>;
  try {
    settings = readSettings(io.env, values);
  } catch (error) {
    return usageError((error as Error).message);
  }
  const log = createLogger({ level: settings.logLevel, name: 'secret-key', destination: process.stderr });
  try {
    const db = await connectCommandDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, log });
    io.stderr(`Connected to ${db.description}.\n`);
    try {
      const result = await rotateSecretKey({
        db: db.client,
        keySource: settings.keySource,
        ...(settings.newKey ? { newKey: settings.newKey } : {}),
        keepPrevious: values['keep-previous'] === true,
        log,
        onProgress: (event) => io.stderr(`${describeProgress(event)}\n`),
        ...(options.columns ? { columns: options.columns } : {}),
      });
      io.stdout(summary(result, settings.keySource.kind === 'file' ? settings.keySource.file : undefined));
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    io.stderr(`berth secret-key rotate failed: ${(error as Error).message}\n`);
    return 1;
  }
}

function readSettings(env: Record<string, string | undefined>, flags: Record<string, string | boolean | undefined>) {
  const { 'secret-key': secretKeyFlag, 'new-key': newKeyFlag, ...settingValues } = flags;
  const strings = Object.fromEntries(Object.entries(settingValues).filter(([, v]) => typeof v === 'string'));
  // The key list is read here rather than through the control plane's setting, which validates a single key.
  const config = parseControlPlaneConfig({ ...env, BERTH_SECRET_KEY: undefined }, strings as Record<string, string>);
  const secretKey = (secretKeyFlag as string | undefined) || env['BERTH_SECRET_KEY'] || undefined;
  const [newKeyOrigin, rawNewKey] =
    typeof newKeyFlag === 'string' ? ['--new-key', newKeyFlag] : ['BERTH_NEW_SECRET_KEY', env['BERTH_NEW_SECRET_KEY']];
  const newKeys = rawNewKey ? parseKeyList(rawNewKey, newKeyOrigin) : [];
  if (newKeys.length > 1) throw new Error(`${newKeyOrigin} must be a single key`);
  // Progress lines are the command's output: JSON logs only when a level is asked for.
  const logLevel: LogLevel = env['BERTH_LOG_LEVEL'] || strings['log-level'] ? config.logLevel : 'warn';
  return {
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    keySource: resolveKeySource({ secretKey, dataDir: config.dataDir }),
    newKey: newKeys[0],
    logLevel,
  };
}

function describeProgress(event: RotationProgress): string {
  switch (event.kind) {
    case 'key-file-written':
      return `Wrote ${event.file}: new key ${event.keyIds[0]} first, then ${event.keyIds.slice(1).join(', ') || 'no other'}; waiting for running control planes to re-read it …`;
    case 'column-skipped':
      return `Skipped ${event.table}.${event.column}: ${event.reason}.`;
    case 'rewrapped':
      return `${event.table}.${event.column}: ${event.total} re-wrapped so far …`;
    case 'verified':
      return `Verified: ${event.values} sealed values open with the new key alone.`;
    case 'old-keys-dropped':
      return `${event.file} now holds only the new key; sweeping for values sealed during the switch …`;
  }
}

function summary(result: RotationResult, file: string | undefined): string {
  const seconds = (result.durationMs / 1000).toFixed(1);
  const old = result.oldKeyIds.join(', ') || 'none';
  const lines = [
    `Rotated the key-encryption key in ${seconds} s.`,
    `  new key:  ${result.newKeyId}`,
    `  old keys: ${old}${result.oldKeysDropped ? ' (removed from the key file)' : ''}`,
    ...result.columns.map((c) =>
      c.skipped
        ? `  ${c.table}.${c.column}: skipped (${c.skipped})`
        : `  ${c.table}.${c.column}: ${c.rewrapped} re-wrapped, ${c.values} sealed values`,
    ),
  ];
  if (file !== undefined)
    lines.push(
      result.oldKeysDropped
        ? `Back up ${file} now: the old keys are gone from it, and the data needs the new one.`
        : `Back up ${file} now; it still holds the old keys after the new one.`,
    );
  else
    lines.push(
      `Next: set BERTH_SECRET_KEY to the new key alone (dropping ${old}) on every control plane and restart them one at a time.`,
    );
  return `${lines.join('\n')}\n`;
}
