import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CODE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);
const MAX_LINES = 400;

interface Import {
  /** Importing file, relative to the repo root with `/` separators. */
  from: string;
  specifier: string;
  /** Absolute path the specifier points at, or undefined for a package import. */
  target: string | undefined;
}

/** Repo-relative paths of code files under `dir`, leaving out dependencies, dot folders and generated code. */
function codeFiles(dir: string, extensions = CODE_EXTENSIONS): string[] {
  const base = join(repoRoot, dir);
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && extensions.has(extname(entry.name)))
    .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .filter((file) => !/(^|\/)(node_modules|\.[^/]+)\//.test(file) && !file.startsWith('shared/gen/'));
}

/** Static imports, `export … from` and `import()`: the TypeScript scanner skips comments and strings for us. */
function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((file) => file.fileName);
}

function importsOf(file: string): Import[] {
  const source = readFileSync(join(repoRoot, file), 'utf8');
  return importSpecifiers(source).map((specifier) => {
    let target: string | undefined;
    if (specifier.startsWith('.')) target = resolve(repoRoot, dirname(file), specifier);
    else if (specifier.startsWith('file:')) target = fileURLToPath(specifier);
    else if (isAbsolute(specifier)) target = specifier;
    return { from: file, specifier, target };
  });
}

function isInside(target: string, dir: string): boolean {
  const rel = relative(dir, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function violations(root: string, forbidden: string[]): string[] {
  return codeFiles(root, new Set(['.ts']))
    .flatMap(importsOf)
    .filter(({ target }) => target && forbidden.some((dir) => isInside(target, join(repoRoot, dir))))
    .map(({ from, specifier }) => `${from} imports '${specifier}'`);
}

/** Lines as an editor numbers them: a final newline does not start another line. */
function lineCount(text: string): number {
  return text === '' ? 0 : text.replace(/\n$/, '').split('\n').length;
}

const ALL_ROOTS = readdirSync(repoRoot, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.'))
  .map((entry) => entry.name);
const everyCodeFile = (): string[] => [
  ...readdirSync(repoRoot).filter((name) => CODE_EXTENSIONS.has(extname(name))),
  ...ALL_ROOTS.flatMap((root) => codeFiles(root)),
];

describe('import boundaries', () => {
  it('finds static imports, re-exports and dynamic imports but not commented-out ones', () => {
    const source = [
      "import type { A } from './a.js';",
      "import {\n  b,\n} from '../b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "const e = await import('./e.js');",
      "// import f from './f.js';",
      'const g = \'import h from "./h.js"\';',
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js']);
  });

  it('control-plane never imports from agent/', () => {
    expect(violations('control-plane', ['agent'])).toEqual([]);
  });

  it('agent never imports from control-plane/', () => {
    expect(violations('agent', ['control-plane'])).toEqual([]);
  });

  it('shared never imports from control-plane/ or agent/', () => {
    expect(violations('shared', ['control-plane', 'agent'])).toEqual([]);
  });

  it('no file imports a path outside the repository (such as ../shared next to it)', () => {
    const escaping = everyCodeFile()
      .flatMap(importsOf)
      .filter(({ target }) => target && !isInside(target, repoRoot))
      .map(({ from, specifier }) => `${from} imports '${specifier}'`);
    expect(escaping).toEqual([]);
  });
});

describe('file size', () => {
  it(`keeps every source file at or under ${MAX_LINES} lines (tests, shared/gen and migrations excepted)`, () => {
    const offenders = everyCodeFile()
      .filter((file) => !file.endsWith('.test.ts') && !file.split('/').includes('migrations'))
      .map((file) => ({ file, lines: lineCount(readFileSync(join(repoRoot, file), 'utf8')) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(offenders).toEqual([]);
  });
});

describe('the command catalogue', () => {
  const catalogueFiles = new Set(['shared/command-catalogue.ts']);
  // The kinds as the catalogue spells them, read from its source so this test needs no import of it.
  const catalogueSource = readFileSync(join(repoRoot, 'shared/command-catalogue.ts'), 'utf8');
  const kindBlock = (name: string) => {
    const block = new RegExp(`export const ${name} = \\{([^}]*)\\}`).exec(catalogueSource)?.[1] ?? '';
    return [...block.matchAll(/:\s*'([a-z]+\.[a-z.-]+)'/g)].map((m) => m[1]!);
  };
  const kinds = [...kindBlock('commandKind'), ...kindBlock('eventKind')];

  it('finds the command and event kinds in the catalogue', () => {
    expect(kinds).toContain('deployment.apply');
    expect(kinds).toContain('runtime.drift');
  });

  it('has no command or event kind written as a string literal outside the catalogue', () => {
    const quoted = new RegExp(`(['"\`])(${kinds.map((k) => k.replaceAll('.', '\\.')).join('|')})\\1`);
    const offenders = everyCodeFile()
      .filter((file) => !catalogueFiles.has(file) && file !== 'test/architecture.test.ts')
      .flatMap((file) =>
        readFileSync(join(repoRoot, file), 'utf8')
          .split('\n')
          .map((line, index) => ({ line, index }))
          .filter(({ line }) => !/^\s*(\/\/|\*|\/\*)/.test(line) && quoted.test(line))
          .map(({ line, index }) => `${file}:${index + 1}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });
});

describe('table ownership', () => {
  /** Table name → the module whose entity.ts defines it. */
  const owners = new Map<string, string>();
  for (const file of codeFiles('control-plane/modules').filter((f) => f.endsWith('/entity.ts'))) {
    const module = file.split('/')[2]!;
    for (const match of readFileSync(join(repoRoot, file), 'utf8').matchAll(/tableName:\s*'([a-z_]+)'/g)) {
      owners.set(match[1]!, module);
    }
  }

  it('knows the tables of the modules', () => {
    expect(owners.get('agent_commands')).toBe('agent-commands');
    expect(owners.get('deployments')).toBe('deployments');
  });

  it("has no module touch another module's table with raw SQL (it goes through that module or the ORM)", () => {
    const tables = [...owners.keys()].join('|');
    // A table in a query builder call (`knex('servers')`, `('deployments as d')`) or in SQL text.
    const raw = new RegExp(
      `\\(\\s*'(${tables})(?: as \\w+)?'\\s*\\)|\\b(?:from|into|update|join)\\s+"?(${tables})\\b`,
      'gi',
    );
    const offenders: string[] = [];
    for (const file of codeFiles('control-plane/modules', new Set(['.ts']))) {
      if (file.endsWith('.test.ts')) continue;
      const module = file.split('/')[2]!;
      const source = readFileSync(join(repoRoot, file), 'utf8');
      for (const match of source.matchAll(raw)) {
        const table = (match[1] ?? match[2])!.toLowerCase();
        if (owners.get(table) !== module) offenders.push(`${file}: ${match[0]} (table of ${owners.get(table)})`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
