/** A text column holding values sealed by the key ring, and the primary key that names its rows. */
export interface SealedColumn {
  table: string;
  column: string;
  /** A single-column primary key; rows are locked, updated and reported by it. */
  idColumn: string;
}

/**
 * Every column that stores sealed values. `berth secret-key rotate` re-wraps exactly these, so a new sealed column
 * must be listed here or its values become unreadable once the old key is dropped. A table missing from the database
 * (an older schema) is skipped.
 */
export const sealedColumns: readonly SealedColumn[] = [
  { table: 'certificate_authorities', column: 'sealed_private_key', idColumn: 'id' },
  { table: 'certificates', column: 'sealed_private_key', idColumn: 'id' },
  { table: 'config_entries', column: 'sealed_value', idColumn: 'id' },
  { table: 'deployments', column: 'sealed_env', idColumn: 'id' },
  { table: 'servers', column: 'sealed_ssh_private_key', idColumn: 'id' },
  { table: 'servers', column: 'sealed_ssh_passphrase', idColumn: 'id' },
  { table: 'ssh_credentials', column: 'sealed_private_key', idColumn: 'id' },
  { table: 'ssh_credentials', column: 'sealed_passphrase', idColumn: 'id' },
];
