import { UnderscoreNamingStrategy } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { entities } from '../db/entities.js';
import { type SealedColumn, sealedColumns } from './sealed-columns.js';

interface PropertyMeta {
  primary?: boolean;
  fieldName?: string;
}

/** Columns of properties named `sealed…` in every mapped entity: the house convention for sealed values. */
function sealedColumnsOfEntities(): SealedColumn[] {
  const naming = new UnderscoreNamingStrategy();
  const column = (name: string, prop: PropertyMeta) => prop.fieldName ?? naming.propertyToColumnName(name);
  return entities.flatMap((entity) => {
    const meta = (entity as unknown as { meta: { tableName: string; properties: Record<string, PropertyMeta> } }).meta;
    const props = Object.entries(meta.properties);
    const primary = props.find(([, prop]) => prop.primary);
    return props
      .filter(([name]) => name.startsWith('sealed'))
      .map(([name, prop]) => ({
        table: meta.tableName,
        column: column(name, prop),
        idColumn: primary ? column(primary[0], primary[1]) : '(no single primary key)',
      }));
  });
}

describe('sealed column registry', () => {
  it('lists every entity column named sealed…, so a key rotation never leaves values under a dropped key', () => {
    const found = sealedColumnsOfEntities();
    expect(found.length).toBeGreaterThan(0);
    for (const column of found) expect(sealedColumns, `${column.table}.${column.column}`).toContainEqual(column);
  });
});
