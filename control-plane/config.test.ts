import nodePath from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/env-config.js';
import { parseControlPlaneConfig, sanitizeControlPlaneConfig } from './config.js';

/** The problems `parse` reports, or a failure when it accepts the input. */
function problemsOf(parse: () => unknown): string[] {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('parseControlPlaneConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = parseControlPlaneConfig({});
    expect(config).toMatchObject({
      httpHost: '127.0.0.1',
      httpPort: 8080,
      grpcPort: 8443,
      databaseUrl: undefined,
      publicUrl: undefined,
      logLevel: 'info',
      sessionTtlHours: 168,
      bodyLimitBytes: 1024 * 1024,
      loginMaxFailures: 5,
      loginWindowSeconds: 900,
    });
    expect(nodePath.isAbsolute(config.dataDir)).toBe(true);
    if (process.getuid?.() === 0) expect(config.dataDir).toBe('/var/lib/berth');
  });

  it('treats an empty variable as unset', () => {
    expect(parseControlPlaneConfig({ BERTH_HTTP_PORT: '', BERTH_LOG_LEVEL: '' })).toMatchObject({
      httpPort: 8080,
      logLevel: 'info',
    });
  });

  it('reads values from the environment', () => {
    const config = parseControlPlaneConfig({
      BERTH_HTTP_HOST: '0.0.0.0',
      BERTH_HTTP_PORT: '9000',
      BERTH_LOG_LEVEL: 'debug',
      BERTH_DATABASE_URL: 'postgresql://berth:pw@db:5432/berth',
      BERTH_DATA_DIR: 'relative/data',
    });
    expect(config).toMatchObject({
      httpHost: '0.0.0.0',
      httpPort: 9000,
      logLevel: 'debug',
      databaseUrl: 'postgresql://berth:pw@db:5432/berth',
    });
    expect(config.dataDir).toBe(nodePath.resolve('relative/data'));
  });

  it('lets flags win over the environment', () => {
    const config = parseControlPlaneConfig(
      { BERTH_HTTP_PORT: '9000', BERTH_LOG_LEVEL: 'debug' },
      { 'http-port': '9100', 'log-level': 'warn' },
    );
    expect(config.httpPort).toBe(9100);
    expect(config.logLevel).toBe('warn');
  });

  it('ignores a bad environment value that a flag overrides, and names the flag when the flag is bad', () => {
    expect(parseControlPlaneConfig({ BERTH_HTTP_PORT: 'abc' }, { 'http-port': '9100' }).httpPort).toBe(9100);
    const problems = problemsOf(() => parseControlPlaneConfig({ BERTH_HTTP_PORT: '9000' }, { 'http-port': 'abc' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('--http-port');
  });

  it.each([
    ['BERTH_HTTP_PORT', 'abc', 'whole number'],
    ['BERTH_HTTP_PORT', '70000', 'whole number from 0 to 65535'],
    ['BERTH_HTTP_PORT', '-1', 'whole number from 0 to 65535'],
    ['BERTH_HTTP_PORT', '80.5', 'whole number'],
    ['BERTH_GRPC_PORT', '65536', 'whole number from 0 to 65535'],
    ['BERTH_LOG_LEVEL', 'loud', 'must be one of'],
    ['BERTH_DATABASE_URL', 'mysql://x', 'postgres://'],
    ['BERTH_DATABASE_URL', 'not a url', 'postgres://'],
    ['BERTH_PUBLIC_URL', 'ftp://example.com', 'http://'],
    ['BERTH_HTTP_HOST', 'bad host!', 'host name'],
    ['BERTH_SESSION_TTL_HOURS', '0', 'whole number'],
    ['BERTH_LOGIN_MAX_FAILURES', 'many', 'whole number'],
  ])('reports %s=%s as one line naming the variable', (variable, value, expected) => {
    const problems = problemsOf(() => parseControlPlaneConfig({ [variable]: value }));
    expect(problems).toHaveLength(1);
    const [line] = problems;
    expect(line).toContain(variable);
    expect(line).toContain(expected);
    expect(line).not.toContain('\n');
  });

  it('shows a non-secret bad value but hides a bad database URL', () => {
    expect(problemsOf(() => parseControlPlaneConfig({ BERTH_LOG_LEVEL: 'loud' }))[0]).toContain('"loud"');
    const [line] = problemsOf(() => parseControlPlaneConfig({ BERTH_DATABASE_URL: 'mysql://root:hunter2@x/db' }));
    expect(line).toContain('BERTH_DATABASE_URL');
    expect(line).not.toContain('hunter2');
  });

  it('reports every bad value at once', () => {
    let caught: unknown;
    try {
      parseControlPlaneConfig({
        BERTH_HTTP_PORT: 'abc',
        BERTH_LOG_LEVEL: 'loud',
        BERTH_DATABASE_URL: 'mysql://x',
        BERTH_GRPC_PORT: '8443',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const { problems, message } = caught as ConfigError;
    expect(problems).toHaveLength(3);
    for (const variable of ['BERTH_HTTP_PORT', 'BERTH_LOG_LEVEL', 'BERTH_DATABASE_URL']) {
      expect(problems.filter((p) => p.includes(variable))).toHaveLength(1);
      expect(message).toContain(variable);
    }
  });
});

describe('sanitizeControlPlaneConfig', () => {
  it('hides the database password but keeps the user, host, port and database name', () => {
    const config = parseControlPlaneConfig({
      BERTH_DATABASE_URL: 'postgres://berth:s3cret-pw@db.example.com:5432/berth_prod',
    });
    const sanitized = sanitizeControlPlaneConfig(config);
    expect(sanitized['databaseUrl']).toBe('postgres://berth:****@db.example.com:5432/berth_prod');
    expect(JSON.stringify(sanitized)).not.toContain('s3cret-pw');
  });

  it('keeps the other settings as they are and an unset database URL unset', () => {
    const config = parseControlPlaneConfig({ BERTH_HTTP_PORT: '9000' });
    const sanitized = sanitizeControlPlaneConfig(config);
    expect(sanitized).toMatchObject({ httpPort: 9000, httpHost: '127.0.0.1', logLevel: 'info' });
    expect(sanitized['databaseUrl']).toBeUndefined();
  });

  it('leaves a database URL without a password readable', () => {
    const config = parseControlPlaneConfig({ BERTH_DATABASE_URL: 'postgresql://db.internal/berth' });
    expect(sanitizeControlPlaneConfig(config)['databaseUrl']).toBe('postgresql://db.internal/berth');
  });
});
