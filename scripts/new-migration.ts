/**
 * Writes a migration for the difference between the entities and a database that has every existing migration:
 *   node --import tsx scripts/new-migration.ts <postgres-url> <Name>
 * then add the printed entry to control-plane/db/migration-list.ts.
 */
import { writeFileSync } from 'node:fs';
import { migrate, openOrm } from '../control-plane/db/orm.js';
import { createLogger } from '../shared/logger.js';

const [url, name] = process.argv.slice(2);
if (!url || !name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
  console.error('usage: node --import tsx scripts/new-migration.ts <postgres-url> <PascalCaseName>');
  process.exit(2);
}
const log = createLogger({ level: 'info', name: 'migration' });
const orm = await openOrm(url, log);
try {
  await migrate(orm, url, log);
  const sql = await orm.schema.getUpdateSchemaSQL({ wrap: false });
  const statements = sql
    .split(/;\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (statements.length === 0) {
    console.log('The schema matches the entities: no migration needed.');
  } else {
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const className = `Migration${stamp}${name}`;
    const body = statements.map((s) => `    this.addSql(${JSON.stringify(s.replace(/;$/, ''))});`).join('\n');
    const file = `control-plane/db/migrations/${className}.ts`;
    writeFileSync(
      file,
      `import { Migration } from '@mikro-orm/migrations';\n\nexport class ${className} extends Migration {\n  override async up(): Promise<void> {\n${body}\n  }\n}\n`,
    );
    console.log(
      `wrote ${file}; add { name: '${className}', class: ${className} } to control-plane/db/migration-list.ts`,
    );
  }
} finally {
  await orm.close();
}
