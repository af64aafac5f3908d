/** One variable read from a `.env` file. */
export interface DotenvEntry {
  key: string;
  value: string;
  /** The 1-based line where the entry starts; a multi-line quoted value reports the line of its key. */
  line: number;
}

/** A problem found on one line of a `.env` file. */
export interface DotenvError {
  /** The 1-based line the problem is on. */
  line: number;
  /** A sentence for the user, starting with `line N: `. It names keys but never repeats a value. */
  message: string;
}

/** Everything `parseDotenv` found: the entries of the valid lines and one error per problem. */
export interface DotenvResult {
  entries: DotenvEntry[];
  errors: DotenvError[];
}

const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const doubleQuoteEscapes: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
// After a closing quote only whitespace may follow, or a comment that whitespace separates from the quote.
const allowedAfterQuote = /^(?:\s*|\s+#.*)$/;

interface QuotedValue {
  value: string;
  /** Index in `lines` of the line holding the closing quote. */
  endIndex: number;
  /** The text after the closing quote on that line. */
  rest: string;
}

/**
 * Parses the text of a `.env` file as users paste it from Heroku, Railway or docker-compose.
 *
 * - Lines end in `\n` or `\r\n`; blank lines and lines starting with `#` are skipped. A leading `export ` is ignored,
 *   and whitespace around the key and the `=` is trimmed. `KEY=` gives an empty value.
 * - Unquoted values are trimmed, and a comment starts at a `#` preceded by whitespace: `URL=http://x/#frag` keeps its
 *   `#`, while `KEY= # note` is empty.
 * - `"…"` interprets `\n`, `\r`, `\t`, `\"` and `\\` (other backslashes stay as written); `'…'` and `` `…` `` are
 *   literal. Quoted values may span lines, each line break becoming `\n`, and may be followed only by whitespace or a
 *   ` # comment`.
 *
 * Every problem is reported, not only the first: keys that are not `[A-Za-z_][A-Za-z0-9_]*`, lines without `=`,
 * quotes never closed (at the line that opened them), text after a closing quote, and NUL characters. Duplicate keys
 * are not an error: every occurrence is returned in file order, so the caller decides which wins.
 */
export function parseDotenv(content: string): DotenvResult {
  // Editors on Windows save a byte-order mark that would otherwise turn the first key into an invalid name.
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries: DotenvEntry[] = [];
  const errors: DotenvError[] = [];
  const report = (line: number, message: string) => errors.push({ line, message: `line ${line}: ${message}` });

  const nulLines = new Set<number>();
  lines.forEach((text, index) => {
    if (text.includes('\0')) {
      nulLines.add(index + 1);
      report(index + 1, 'contains a NUL character');
    }
  });

  let index = 0;
  while (index < lines.length) {
    const line = index + 1;
    const text = lines[index]!;
    index++;
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;

    const equals = text.indexOf('=');
    if (equals === -1) {
      // The line is not echoed: a pasted secret without a key is exactly what lands here.
      report(line, 'expected KEY=value');
      continue;
    }
    const key = text
      .slice(0, equals)
      .trim()
      .replace(/^export\s+/, '');
    const afterEquals = text.slice(equals + 1);
    const valueText = afterEquals.trimStart();
    const quote = valueText[0];
    let ok = true;
    let value: string;
    let lastLine = line;

    if (key === '') {
      report(line, 'missing variable name before "="');
      ok = false;
    } else if (!keyPattern.test(key)) {
      report(
        line,
        `${describeKey(key)} is not a valid variable name: use letters, digits and underscores, not starting with a digit`,
      );
      ok = false;
    }

    if (quote === '"' || quote === "'" || quote === '`') {
      const quoted = readQuoted(lines, index - 1, valueText.slice(1), quote);
      if (quoted === null) {
        report(line, `the value of ${describeKey(key)} opens a ${quote} quote that is never closed`);
        // The search for the closing quote read to the end of the file, so nothing after this line is parsed.
        break;
      }
      value = quoted.value;
      lastLine = quoted.endIndex + 1;
      index = quoted.endIndex + 1;
      if (!allowedAfterQuote.test(quoted.rest)) {
        report(
          lastLine,
          `unexpected text after the closing ${quote} of ${describeKey(key)}: only " # comment" may follow`,
        );
        ok = false;
      }
    } else {
      const comment = afterEquals.search(/\s#/);
      value = (comment === -1 ? afterEquals : afterEquals.slice(0, comment)).trim();
    }

    let hasNul = false;
    for (let n = line; n <= lastLine; n++) hasNul ||= nulLines.has(n);
    if (ok && !hasNul) entries.push({ key, value, line });
  }

  // NUL errors were found in a first pass; report everything in file order.
  errors.sort((a, b) => a.line - b.line);
  return { entries, errors };
}

/** Reads a quoted value from just after its opening quote up to the closing one, or null when it never closes. */
function readQuoted(
  lines: readonly string[],
  startIndex: number,
  afterQuote: string,
  quote: string,
): QuotedValue | null {
  let value = '';
  let text = afterQuote;
  for (let lineIndex = startIndex; ; ) {
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (char === quote) return { value, endIndex: lineIndex, rest: text.slice(i + 1) };
      if (quote === '"' && char === '\\') {
        const escaped = doubleQuoteEscapes[text[i + 1] ?? ''];
        if (escaped !== undefined) {
          value += escaped;
          i++;
          continue;
        }
      }
      value += char;
    }
    lineIndex++;
    if (lineIndex >= lines.length) return null;
    value += '\n';
    text = lines[lineIndex]!;
  }
}

/** A key as it appears in messages: bare when valid, otherwise quoted and shortened, with control characters escaped. */
// A pasted line such as `postgres://user:pass@host/db?sslmode=require` has a "key" that holds a password: only a
// short, plain-looking bad key is quoted back (messages end up in responses and logs).
function describeKey(key: string): string {
  if (keyPattern.test(key)) return key;
  return /^[A-Za-z0-9_. -]{1,40}$/.test(key) ? JSON.stringify(key) : 'the text before "="';
}
