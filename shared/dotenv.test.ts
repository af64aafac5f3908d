import { describe, expect, it } from 'vitest';
import { parseDotenv } from './dotenv.js';

/** The entries of `content` as `[key, value]` pairs, asserting that it parsed without errors. */
function pairs(content: string): [string, string][] {
  const { entries, errors } = parseDotenv(content);
  expect(errors).toEqual([]);
  return entries.map((entry) => [entry.key, entry.value]);
}

describe('parseDotenv', () => {
  it('returns nothing for empty content', () => {
    expect(parseDotenv('')).toEqual({ entries: [], errors: [] });
  });

  it('skips blank lines and comment lines and numbers entries by their line', () => {
    const content = '# database\n\nDB_HOST=db\n   \n  # indented comment\nDB_PORT=5432\n';
    expect(parseDotenv(content)).toEqual({
      entries: [
        { key: 'DB_HOST', value: 'db', line: 3 },
        { key: 'DB_PORT', value: '5432', line: 6 },
      ],
      errors: [],
    });
  });

  it.each([
    ['a plain pair', 'KEY=value', 'value'],
    ['an export prefix', 'export KEY=value', 'value'],
    ['an export prefix followed by a tab', 'export\tKEY=value', 'value'],
    ['spaces around the key and the equals sign', '  KEY  =  value  ', 'value'],
    ['an empty value', 'KEY=', ''],
    ['an empty value followed by spaces', 'KEY=   ', ''],
    ['an equals sign inside the value', 'KEY=a=b==', 'a=b=='],
    ['spaces inside an unquoted value', 'KEY=hello big world', 'hello big world'],
    ['an inline comment after a space', 'KEY=value # the value', 'value'],
    ['an inline comment after a tab', 'KEY=value\t# the value', 'value'],
    ['a hash without whitespace before it', 'KEY=http://x/#frag', 'http://x/#frag'],
    ['a hash that starts the value', 'KEY=#ff0000', '#ff0000'],
    ['only a comment after the equals sign', 'KEY= # nothing here', ''],
    ['a quote that does not start the value', `KEY=it's "fine"`, `it's "fine"`],
  ])('reads %s', (_name, content, value) => {
    expect(pairs(content)).toEqual([['KEY', value]]);
  });

  it('accepts "export" as a key when no space follows it', () => {
    expect(pairs('export=1')).toEqual([['export', '1']]);
  });

  it.each([
    ['a double-quoted value', 'KEY="a value"', 'a value'],
    ['an empty double-quoted value', 'KEY=""', ''],
    ['double-quote escapes', String.raw`KEY="a\nb\rc\td\"e\\f"`, 'a\nb\rc\td"e\\f'],
    ['an unknown escape as written', String.raw`KEY="C:\dir\$HOME"`, String.raw`C:\dir\$HOME`],
    ['an escaped backslash before the closing quote', String.raw`KEY="ends with \\"`, 'ends with \\'],
    ['a hash inside double quotes', 'KEY="a # not a comment"', 'a # not a comment'],
    ['a comment after the closing quote', 'KEY="value" # comment', 'value'],
    ['spaces after the closing quote', 'KEY="value"   ', 'value'],
    ['spaces kept inside quotes', 'KEY="  padded  "', '  padded  '],
    ['a single-quoted value literally', String.raw`KEY='a\nb "c" $d'`, String.raw`a\nb "c" $d`],
    ['a backtick-quoted value literally', String.raw`KEY=${'`'}it's \n "raw"${'`'}`, String.raw`it's \n "raw"`],
    ['a quoted value after spaces around the equals sign', `KEY = 'value'`, 'value'],
  ])('reads %s', (_name, content, value) => {
    expect(pairs(content)).toEqual([['KEY', value]]);
  });

  it('reads multi-line quoted values and numbers each entry by the line of its key', () => {
    const content = [
      'FIRST=1',
      'PEM="-----BEGIN KEY-----',
      'MIIBOgIBAAJBAK',
      '-----END KEY-----"',
      "NOTE='line one",
      '',
      "line three'  # trailing comment",
      'LAST=2',
    ].join('\n');
    expect(parseDotenv(content)).toEqual({
      entries: [
        { key: 'FIRST', value: '1', line: 1 },
        { key: 'PEM', value: '-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n-----END KEY-----', line: 2 },
        { key: 'NOTE', value: 'line one\n\nline three', line: 5 },
        { key: 'LAST', value: '2', line: 8 },
      ],
      errors: [],
    });
  });

  it('reads CRLF files and turns CRLF inside quoted values into \\n', () => {
    const content = 'A=1\r\n# comment\r\nB="x\r\ny"\r\nC=3 # c\r\n';
    expect(parseDotenv(content)).toEqual({
      entries: [
        { key: 'A', value: '1', line: 1 },
        { key: 'B', value: 'x\ny', line: 3 },
        { key: 'C', value: '3', line: 5 },
      ],
      errors: [],
    });
  });

  it('ignores a byte-order mark before the first key', () => {
    expect(pairs('\uFEFFKEY=value')).toEqual([['KEY', 'value']]);
  });

  it('returns every occurrence of a duplicate key in file order', () => {
    expect(parseDotenv('A=1\nB=2\nA=3\nexport A=4').entries).toEqual([
      { key: 'A', value: '1', line: 1 },
      { key: 'B', value: '2', line: 2 },
      { key: 'A', value: '3', line: 3 },
      { key: 'A', value: '4', line: 4 },
    ]);
  });

  it.each([
    [
      'a key starting with a digit',
      'OK=1\nOK2=2\n1BAD=x',
      3,
      'line 3: "1BAD" is not a valid variable name: use letters, digits and underscores, not starting with a digit',
    ],
    ['a key with a hyphen', 'MY-KEY=x', 1, '"MY-KEY" is not a valid variable name'],
    ['a key with a space', 'MY KEY=x', 1, '"MY KEY" is not a valid variable name'],
    ['a missing key', '=value', 1, 'line 1: missing variable name before "="'],
    ['a line without an equals sign', 'A=1\n\n\nJUST_A_WORD', 4, 'line 4: expected KEY=value'],
    ['an export without an assignment', 'export KEY', 1, 'line 1: expected KEY=value'],
    [
      'an unterminated double quote',
      'A=1\nB="open\nC=3',
      2,
      'line 2: the value of B opens a " quote that is never closed',
    ],
    ['an unterminated single quote', "A='open", 1, "line 1: the value of A opens a ' quote that is never closed"],
    ['an escaped closing quote that leaves the value open', String.raw`A="open\"`, 1, 'never closed'],
    ['text after the closing quote', 'A="x" y', 1, 'line 1: unexpected text after the closing " of A'],
    ['a comment touching the closing quote', "A='x'# c", 1, "unexpected text after the closing ' of A"],
    ['text after a multi-line closing quote', 'A="x\ny"z', 2, 'line 2: unexpected text after the closing " of A'],
    ['a NUL character in a value', 'A=1\nB=x\0y', 2, 'line 2: contains a NUL character'],
    ['a NUL character in a comment', '# a\0b\nA=1', 1, 'line 1: contains a NUL character'],
  ])('reports %s with its line number', (_name, content, line, message) => {
    const { errors } = parseDotenv(content);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.line).toBe(line);
    expect(errors[0]!.message).toContain(message);
  });

  it('does not repeat a value or an unparsable line in error messages', () => {
    const { errors } = parseDotenv('sk_live_secret\nA="secret" leaked');
    expect(errors.map((error) => error.message).join('\n')).not.toContain('secret');
  });

  it('does not quote back a long or URL-like invalid key, which may hold a password', () => {
    const { errors } = parseDotenv(`${'x'.repeat(100)}-=1\nB\u0001=2\npostgres://u:hunter2@db/x?ssl=require`);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('the text before "=" is not a valid variable name'),
      expect.stringContaining('the text before "=" is not a valid variable name'),
      expect.stringContaining('the text before "=" is not a valid variable name'),
    ]);
    expect(errors.map((e) => e.message).join('\n')).not.toContain('hunter2');
  });

  it('leaves out entries whose value holds a NUL character', () => {
    const content = 'A=1\nB="x\ny\0"\nC=3';
    const { entries, errors } = parseDotenv(content);
    expect(entries.map((entry) => entry.key)).toEqual(['A', 'C']);
    expect(errors).toEqual([{ line: 3, message: 'line 3: contains a NUL character' }]);
  });

  it('reports every error at once, in line order, and keeps the valid entries', () => {
    const content = [
      'GOOD=1',
      '1BAD=2',
      'no equals here',
      'QUOTED="x" trailing',
      'NUL=a\0b',
      'ALSO_GOOD=2',
      'OPEN="never closed',
      'SWALLOWED=3',
    ].join('\n');
    const { entries, errors } = parseDotenv(content);
    expect(errors.map((error) => error.line)).toEqual([2, 3, 4, 5, 7]);
    expect(errors.every((error) => error.message.startsWith(`line ${error.line}: `))).toBe(true);
    expect(entries.map((entry) => entry.key)).toEqual(['GOOD', 'ALSO_GOOD']);
  });

  it('reports an invalid key and an unterminated quote on the same line separately', () => {
    expect(parseDotenv('1BAD="open').errors.map((error) => error.message)).toEqual([
      'line 1: "1BAD" is not a valid variable name: use letters, digits and underscores, not starting with a digit',
      'line 1: the value of "1BAD" opens a " quote that is never closed',
    ]);
  });
});
