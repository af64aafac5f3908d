import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Logger } from '../../shared/logger.js';
import { createKeyRing, type KeyRing, keyFileCheckIntervalMs, readKeyFile } from './key-ring.js';
import { generateKek, type KeySource, kekId, keySourceLabel, writeKeyFile } from './key-source.js';
import { type SealedColumn, sealedColumns } from './sealed-columns.js';

/** What {@link rotateSecretKey} needs. */
export interface RotateSecretKeyOptions {
  /** One connection for the whole rotation: it holds the rotation's advisory lock and runs each batch's transaction. */
  db: pg.ClientBase;
  keySource: KeySource;
  /** The new key-encryption key. Generated when omitted for a key file; required with `BERTH_SECRET_KEY`. */
  newKey?: Buffer;
  /** Leave the old keys in the key file (after the new one) instead of dropping them at the end. */
  keepPrevious?: boolean;
  log: Logger;
  onProgress?: (event: RotationProgress) => void;
  /** The sealed columns to re-wrap; {@link sealedColumns} unless a test registers its own. */
  columns?: readonly SealedColumn[];
  /** Rows per transaction; 200 unless given. */
  batchSize?: number;
  /** How long to wait after each change of the key file so running control planes re-read it; 1.5 s unless given. */
  settleMs?: number;
}

/** One step of a rotation, for progress output. */
export type RotationProgress =
  | { kind: 'key-file-written'; file: string; keyIds: string[] }
  | { kind: 'column-skipped'; table: string; column: string; reason: string }
  | { kind: 'rewrapped'; table: string; column: string; rows: number; total: number }
  | { kind: 'verified'; values: number }
  | { kind: 'old-keys-dropped'; file: string };

/** What one sealed column went through. */
export interface ColumnRotation {
  table: string;
  column: string;
  /** Why the column was left alone (its table or column does not exist); absent when it was rotated. */
  skipped?: string;
  /** Values whose data key was re-wrapped under the new key (legacy v1 values converted to v2 included). */
  rewrapped: number;
  /** Sealed values the column holds after the rotation, every one verified to open with the new key alone. */
  values: number;
}

/** The outcome of {@link rotateSecretKey}. */
export interface RotationResult {
  source: KeySource['kind'];
  newKeyId: string;
  /** The other keys the ring held, whose values were moved to the new key. */
  oldKeyIds: string[];
  columns: ColumnRotation[];
  /** Whether the key file now holds only the new key; never for `BERTH_SECRET_KEY`, which the operator changes. */
  oldKeysDropped: boolean;
  durationMs: number;
}

// Any fixed number: two rotations against one database must not interleave.
const rotationLockId = 5_140_002;
const verifyRounds = 3;

/**
 * Moves every sealed value to a new key-encryption key without stopping the control planes. With a key file: the file
 * becomes `new, old…` (running control planes re-read it and seal with the new key, still opening old values), every
 * registered column is re-wrapped in batches (one transaction each, rows locked), every value is verified to open with
 * the new key alone, and the file is reduced to the new key (unless `keepPrevious`) followed by a last sweep for
 * values sealed by a control plane that had not re-read the file yet. With `BERTH_SECRET_KEY` the operator has already
 * put `new,old` in every process's environment: the same re-wrap and verification run, and dropping the old key is left
 * to them. Throws, with the old keys still in place, when a value cannot be re-wrapped or verified.
 */
export async function rotateSecretKey(options: RotateSecretKeyOptions): Promise<RotationResult> {
  const started = performance.now();
  const { db, keySource, log } = options;
  const progress = options.onProgress ?? (() => undefined);
  const settle = () => sleep(options.settleMs ?? 3 * keyFileCheckIntervalMs);
  const locked = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [rotationLockId]);
  if (!locked.rows[0]?.ok) throw new Error('another key rotation is running against this database');
  try {
    const { columns, skipped } = await existingColumns(db, options.columns ?? sealedColumns, log, progress);
    const { keys, newKey } = await installNewKey(options, progress);
    const newKeyId = kekId(newKey);
    const ring = createKeyRing(keys, keySourceLabel(keySource));
    const oldKeyIds = ring.keyIds().filter((id) => id !== newKeyId);
    log.info({ newKeyId, oldKeyIds, source: keySource.kind }, 'rotating the key-encryption key');
    if (keySource.kind === 'file') await settle();

    const batchSize = options.batchSize ?? 200;
    const rewrapAll = async () => {
      for (const c of columns) c.rewrapped += await rewrapColumn(db, c, ring, newKeyId, batchSize, progress);
    };
    await rewrapAll();
    for (let round = 1; ; round++) {
      const stragglers = await verify(db, columns, createKeyRing(newKey), newKeyId);
      if (stragglers === 0) break;
      if (round === verifyRounds)
        throw new Error(
          `${stragglers} values are still sealed with an old key after ${round} passes: a control plane keeps sealing with it` +
            (keySource.kind === 'env' ? ' (is BERTH_SECRET_KEY=<new>,<old> set on every running control plane?)' : ''),
        );
      await rewrapAll();
    }
    progress({ kind: 'verified', values: columns.reduce((n, c) => n + c.values, 0) });

    let oldKeysDropped = false;
    if (keySource.kind === 'file' && !options.keepPrevious && oldKeyIds.length > 0) {
      await writeKeyFile(keySource.file, [newKey]);
      oldKeysDropped = true;
      progress({ kind: 'old-keys-dropped', file: keySource.file });
      // A control plane that sealed with an old key just before it re-read the file may have written since the
      // verification: this process still holds the old keys, so it moves those values now.
      try {
        await settle();
        await rewrapAll();
      } catch (error) {
        // Values may still need the old keys, and this process is the last place that has them.
        await writeKeyFile(keySource.file, keys);
        throw new Error(`${(error as Error).message}; the old keys were put back into ${keySource.file}`);
      }
    }
    const durationMs = Math.round(performance.now() - started);
    const rotated = columns.map(({ table, column, rewrapped, values }) => ({ table, column, rewrapped, values }));
    const result = {
      source: keySource.kind,
      newKeyId,
      oldKeyIds,
      columns: [...rotated, ...skipped],
      oldKeysDropped,
      durationMs,
    };
    log.info({ ...result }, 'rotated the key-encryption key');
    return result;
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [rotationLockId]).catch(() => undefined);
  }
}

interface ColumnState extends ColumnRotation {
  idColumn: string;
  /** The id column's SQL type, to cast the ids of a batch update. */
  idType: string;
}

async function installNewKey(
  options: RotateSecretKeyOptions,
  progress: (event: RotationProgress) => void,
): Promise<{ keys: Buffer[]; newKey: Buffer }> {
  const source = options.keySource;
  if (source.kind === 'env') {
    if (options.newKey === undefined)
      throw new Error(
        'with BERTH_SECRET_KEY the new key must be given (--new-key or BERTH_NEW_SECRET_KEY), after setting BERTH_SECRET_KEY=<new>,<old> on every control plane',
      );
    if (kekId(source.keys[0]!) !== kekId(options.newKey))
      throw new Error(
        'BERTH_SECRET_KEY must start with the new key (BERTH_SECRET_KEY=<new>,<old>), here and on every running control plane, before the rotation',
      );
    return { keys: source.keys, newKey: options.newKey };
  }
  let current: Buffer[];
  try {
    current = readKeyFile(source.file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`${source.file} does not exist: there is no key to rotate (is BERTH_DATA_DIR right?)`);
    throw error;
  }
  const newKey = options.newKey ?? generateKek();
  const newKeyId = kekId(newKey);
  // A re-run with the same --new-key after an interrupted rotation keeps a single copy of it, first.
  const keys = [newKey, ...current.filter((key) => kekId(key) !== newKeyId)];
  await writeKeyFile(source.file, keys);
  progress({ kind: 'key-file-written', file: source.file, keyIds: keys.map(kekId) });
  return { keys, newKey };
}

/** The registered columns present in this database, with their id column's type, and the ones skipped. */
async function existingColumns(
  db: pg.ClientBase,
  registered: readonly SealedColumn[],
  log: Logger,
  progress: (event: RotationProgress) => void,
): Promise<{ columns: ColumnState[]; skipped: ColumnRotation[] }> {
  const present: ColumnState[] = [];
  const skipped: ColumnRotation[] = [];
  for (const { table, column, idColumn } of registered) {
    const found = await db.query<{ found: boolean; name: string | null; type: string | null }>(
      `SELECT t.oid IS NOT NULL AS found, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
         FROM (SELECT to_regclass($1) AS oid) t LEFT JOIN pg_attribute a
           ON a.attrelid = t.oid AND a.attname = ANY($2) AND a.attnum > 0 AND NOT a.attisdropped`,
      [db.escapeIdentifier(table), [column, idColumn]],
    );
    const types = new Map(found.rows.map((r) => [r.name, r.type ?? '']));
    const missing = [column, idColumn].find((name) => !types.has(name));
    const reason = !found.rows[0]?.found
      ? 'table does not exist'
      : missing !== undefined
        ? `column ${missing} does not exist`
        : undefined;
    if (reason !== undefined) {
      log.info({ table, column, reason }, 'skipping a sealed column');
      progress({ kind: 'column-skipped', table, column, reason });
      skipped.push({ table, column, skipped: reason, rewrapped: 0, values: 0 });
      continue;
    }
    present.push({ table, column, idColumn, idType: types.get(idColumn)!, rewrapped: 0, values: 0 });
  }
  return { columns: present, skipped };
}

/** Re-wraps the column's values not under `newKeyId` (legacy v1 values included), in batches; returns how many. */
async function rewrapColumn(
  db: pg.ClientBase,
  c: ColumnState,
  ring: KeyRing,
  newKeyId: string,
  batchSize: number,
  progress: (event: RotationProgress) => void,
): Promise<number> {
  const [t, col, id] = [c.table, c.column, c.idColumn].map((name) => db.escapeIdentifier(name));
  let total = 0;
  for (;;) {
    await db.query('BEGIN');
    try {
      const batch = await db.query<{ id: unknown; sealed: string }>(
        `SELECT ${id} AS id, ${col} AS sealed FROM ${t} WHERE ${col} IS NOT NULL
          AND (split_part(${col}, '.', 1) = 'v1' OR split_part(${col}, '.', 2) <> $1) ORDER BY ${id} LIMIT $2 FOR UPDATE`,
        [newKeyId, batchSize],
      );
      const ids: unknown[] = [];
      const values: string[] = [];
      for (const row of batch.rows) {
        ids.push(row.id);
        values.push(rewrapRow(ring, row.sealed, c, row.id));
      }
      if (ids.length > 0)
        await db.query(
          `UPDATE ${t} SET ${col} = v.sealed FROM unnest($1::${c.idType}[], $2::text[]) AS v(id, sealed) WHERE ${t}.${id} = v.id`,
          [ids, values],
        );
      await db.query('COMMIT');
      total += ids.length;
      if (ids.length > 0) progress({ kind: 'rewrapped', table: c.table, column: c.column, rows: ids.length, total });
      if (ids.length < batchSize) return total;
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

function rewrapRow(ring: KeyRing, sealed: string, c: ColumnState, id: unknown): string {
  try {
    return ring.rewrap(sealed);
  } catch (error) {
    throw new Error(`cannot re-wrap ${c.table}.${c.column} of row ${String(id)}: ${(error as Error).message}`);
  }
}

/**
 * Opens every value with a ring holding only the new key, counting them per column; returns how many are still under
 * another key (sealed meanwhile by a control plane that had not switched yet). Throws on a value that cannot open.
 */
async function verify(db: pg.ClientBase, columns: ColumnState[], onlyNew: KeyRing, newKeyId: string): Promise<number> {
  let stragglers = 0;
  for (const c of columns) {
    const [t, col, id] = [c.table, c.column, c.idColumn].map((name) => db.escapeIdentifier(name));
    c.values = 0;
    let last: unknown;
    for (;;) {
      const after = last === undefined ? '' : `AND ${id} > $2::${c.idType}`;
      const page = await db.query<{ id: unknown; sealed: string }>(
        `SELECT ${id} AS id, ${col} AS sealed FROM ${t} WHERE ${col} IS NOT NULL ${after} ORDER BY ${id} LIMIT $1`,
        last === undefined ? [1000] : [1000, last],
      );
      for (const row of page.rows) {
        c.values++;
        if (isStillOld(onlyNew, row.sealed, newKeyId, c, row.id)) stragglers++;
      }
      if (page.rows.length < 1000) break;
      last = page.rows.at(-1)!.id;
    }
  }
  return stragglers;
}

/** Whether the value is still under another key; throws naming the row unless it opens with the new key alone. */
function isStillOld(onlyNew: KeyRing, sealed: string, newKeyId: string, c: ColumnState, id: unknown): boolean {
  try {
    if (onlyNew.keyIdOf(sealed) !== newKeyId) return true;
    onlyNew.open(sealed);
    return false;
  } catch (error) {
    const why = (error as Error).message;
    throw new Error(
      `${c.table}.${c.column} of row ${String(id)} does not open with the new key (${why}); the old keys were kept`,
    );
  }
}
