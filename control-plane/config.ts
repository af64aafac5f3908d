import os from 'node:os';
import nodePath from 'node:path';
import {
  host,
  integer,
  oneOf,
  parseSettings,
  path,
  type SettingSpec,
  sanitizeSettings,
  url,
} from '../shared/env-config.js';
import { type LogLevel, logLevels } from '../shared/logger.js';

/** The data folder when `BERTH_DATA_DIR` is unset: a system folder for root (whose home is not readable by the
 * embedded database's `postgres` user), the XDG data folder otherwise. */
function defaultDataDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/berth';
  const base = process.env['XDG_DATA_HOME'] || nodePath.join(os.homedir(), '.local', 'share');
  return nodePath.join(base, 'berth');
}

/** Every setting of the control plane: its variable, flag, default and meaning. */
export const controlPlaneSettings = {
  httpHost: {
    env: 'BERTH_HTTP_HOST',
    flag: 'http-host',
    description: 'address the HTTP API listens on; 0.0.0.0 to accept other machines',
    defaultText: '127.0.0.1',
    fallback: () => '127.0.0.1',
    parse: host,
  },
  httpPort: {
    env: 'BERTH_HTTP_PORT',
    flag: 'http-port',
    description: 'port of the HTTP API (0 picks a free one)',
    defaultText: '8080',
    fallback: () => 8080,
    parse: integer(0, 65535),
  },
  grpcPort: {
    env: 'BERTH_GRPC_PORT',
    flag: 'grpc-port',
    description: 'port of the agent gateway (gRPC)',
    defaultText: '8443',
    fallback: () => 8443,
    parse: integer(0, 65535),
  },
  dataDir: {
    env: 'BERTH_DATA_DIR',
    flag: 'data-dir',
    description: 'folder for the embedded database and keys',
    defaultText: '/var/lib/berth as root, else ~/.local/share/berth',
    fallback: defaultDataDir,
    parse: (raw: string) => nodePath.resolve(path(raw)),
  },
  databaseUrl: {
    env: 'BERTH_DATABASE_URL',
    flag: 'database-url',
    description: 'PostgreSQL URL; unset runs an embedded PostgreSQL under the data folder',
    fallback: () => undefined as string | undefined,
    parse: url(['postgres:', 'postgresql:']) as (raw: string) => string | undefined,
    secret: true,
  },
  publicUrl: {
    env: 'BERTH_PUBLIC_URL',
    flag: 'public-url',
    description: 'URL users and agents reach the API at (used in links the API returns)',
    defaultText: 'http://<http-host>:<http-port>',
    fallback: () => undefined as string | undefined,
    // Links are built as `${publicUrl}/path`, so a trailing slash is dropped.
    parse: (raw: string): string | undefined => url(['http:', 'https:'])(raw).replace(/\/+$/, ''),
  },
  logLevel: {
    env: 'BERTH_LOG_LEVEL',
    flag: 'log-level',
    description: `log level (${logLevels.join(', ')})`,
    defaultText: 'info',
    fallback: (): LogLevel => 'info',
    parse: oneOf(logLevels),
  },
  sessionTtlHours: {
    env: 'BERTH_SESSION_TTL_HOURS',
    flag: 'session-ttl-hours',
    description: 'how long a login session stays valid',
    defaultText: '168',
    fallback: () => 168,
    parse: integer(1, 24 * 365),
  },
  bodyLimitBytes: {
    env: 'BERTH_BODY_LIMIT_BYTES',
    flag: 'body-limit-bytes',
    description: 'largest accepted request body',
    defaultText: '1048576',
    fallback: () => 1024 * 1024,
    parse: integer(1024, 64 * 1024 * 1024),
  },
  loginMaxFailures: {
    env: 'BERTH_LOGIN_MAX_FAILURES',
    flag: 'login-max-failures',
    description: 'failed logins per email and address before logins are refused for the window',
    defaultText: '5',
    fallback: () => 5,
    parse: integer(1, 1000),
  },
  loginWindowSeconds: {
    env: 'BERTH_LOGIN_WINDOW_SECONDS',
    flag: 'login-window-seconds',
    description: 'window over which failed logins are counted',
    defaultText: '900',
    fallback: () => 900,
    parse: integer(1, 86400),
  },
} satisfies Record<string, SettingSpec<unknown>>;

/** The control plane's validated configuration. */
export type ControlPlaneConfig = ReturnType<typeof parseControlPlaneConfig>;

/**
 * Parses the control plane's configuration from the environment and flags (flags win). Throws a `ConfigError`
 * listing every bad value.
 */
export function parseControlPlaneConfig(
  env: Record<string, string | undefined>,
  flags: Record<string, string | undefined> = {},
) {
  return parseSettings(controlPlaneSettings, env, flags);
}

/** The configuration for the start-up log, with the database password hidden. */
export function sanitizeControlPlaneConfig(config: ControlPlaneConfig): Record<string, unknown> {
  return sanitizeSettings(controlPlaneSettings, config);
}
