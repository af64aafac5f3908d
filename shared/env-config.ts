/**
 * A small declarative parser for `BERTH_*` settings. Every setting names its variable, its flag and how to parse
 * it; parsing collects one message per bad value, so a misconfigured start lists everything wrong at once.
 */
import { type LogLevel, logLevels } from './logger.js';

/** How one setting is read: `parse` returns the value or throws an Error whose message says what is expected. */
export interface SettingSpec<T> {
  /** Environment variable, e.g. `BERTH_HTTP_PORT`. */
  env: string;
  /** Command-line flag without dashes, e.g. `http-port`. */
  flag: string;
  description: string;
  /** The default as shown in `--help` and the README; `undefined` means unset. */
  defaultText?: string;
  /** Computes the default when neither the flag nor the variable is given. */
  fallback: () => T;
  parse: (raw: string) => T;
  /** Secrets are shown as `****` in the sanitized config dump. */
  secret?: boolean;
}

/** Thrown when at least one setting is bad; `problems` has one line per bad value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The values {@link parseSettings} reads for `S`, by key. */
export type SettingValues<S extends Record<string, SettingSpec<unknown>>> = {
  [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never;
};

/** Reads every setting of `specs` from `flags` first, then `env`, else its fallback. */
export function parseSettings<S extends Record<string, SettingSpec<unknown>>>(
  specs: S,
  env: Record<string, string | undefined>,
  flags: Record<string, string | undefined> = {},
): SettingValues<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const fromFlag = flags[spec.flag];
    const raw = fromFlag ?? env[spec.env];
    const source = fromFlag === undefined ? spec.env : `--${spec.flag}`;
    if (raw === undefined || raw === '') {
      out[key] = spec.fallback();
      continue;
    }
    try {
      out[key] = spec.parse(raw);
    } catch (error) {
      const shown = spec.secret ? '****' : JSON.stringify(raw);
      problems.push(`${source}: ${(error as Error).message} (got ${shown})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as never;
}

/**
 * A program's configuration over `specs`: `parse` reads it from the environment and flags (flags win) and throws a
 * {@link ConfigError} listing every bad value; `sanitize` gives it for the start-up log, secrets hidden.
 */
export function configOf<S extends Record<string, SettingSpec<unknown>>>(specs: S) {
  return {
    parse: (env: Record<string, string | undefined>, flags: Record<string, string | undefined> = {}) =>
      parseSettings(specs, env, flags),
    sanitize: (values: SettingValues<S>): Record<string, unknown> =>
      sanitizeSettings(specs, values as Record<string, unknown>),
  };
}

/** Parses a whole number in `[min, max]`. */
export function integer(min: number, max: number): (raw: string) => number {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be a whole number from ${min} to ${max}`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`must be a whole number from ${min} to ${max}`);
    return value;
  };
}

/** Parses one of a fixed list of words. */
export function oneOf<const T extends string>(values: readonly T[]): (raw: string) => T {
  return (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
    return raw as T;
  };
}

/** Parses a URL whose protocol is one of `protocols` (with the colon, e.g. `postgres:`). */
export function url(protocols: readonly string[]): (raw: string) => string {
  return (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new Error(`must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
    }
    return raw;
  };
}

/** Parses a host name or IP address to listen on. */
export function host(raw: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(raw)) throw new Error('must be a host name or an IP address such as 127.0.0.1');
  return raw;
}

/** Parses a non-empty folder path. */
export function path(raw: string): string {
  if (raw.includes('\0')) throw new Error('must be a folder path');
  return raw;
}

/** `BERTH_LOG_LEVEL`, which the control plane and the agent read alike. */
export const logLevelSetting = {
  env: 'BERTH_LOG_LEVEL',
  flag: 'log-level',
  description: `log level (${logLevels.join(', ')})`,
  defaultText: 'info',
  fallback: (): LogLevel => 'info',
  parse: oneOf(logLevels),
} satisfies SettingSpec<LogLevel>;

/** Lines for `--help`: one per setting with its flag, variable, default and meaning. */
export function describeSettings(specs: Record<string, SettingSpec<unknown>>): string[] {
  return Object.values(specs).map(
    (s) =>
      `  --${s.flag.padEnd(22)} ${s.env.padEnd(28)} ${s.description}${s.defaultText ? ` (default: ${s.defaultText})` : ''}`,
  );
}

/** The settings as a plain object for the start-up log, secrets replaced by `****`. */
export function sanitizeSettings(
  specs: Record<string, SettingSpec<unknown>>,
  values: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const value = values[key];
    out[key] = spec.secret && value !== undefined ? redact(value) : value;
  }
  return out;
}

// A URL keeps its host and database visible (operators need them) with only the password hidden.
function redact(value: unknown): string {
  if (typeof value === 'string' && /^[a-z]+:\/\//.test(value)) {
    try {
      const parsed = new URL(value);
      if (parsed.password) parsed.password = '****';
      // libpq also reads a password from the query string.
      for (const key of [...parsed.searchParams.keys()]) {
        if (/pass/i.test(key)) parsed.searchParams.set(key, '****');
      }
      return parsed.toString();
    } catch {
      return '****';
    }
  }
  return '****';
}
