import os from 'node:os';
import nodePath from 'node:path';
import {
  configOf,
  host,
  integer,
  logLevelSetting,
  path,
  type SettingSpec,
  type SettingValues,
  url,
} from '../shared/env-config.js';
import { parseKeyList } from './secrets/key-source.js';

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
  grpcHost: {
    env: 'BERTH_GRPC_HOST',
    flag: 'grpc-host',
    description: 'address the agent gateway listens on',
    defaultText: 'the HTTP host',
    fallback: () => undefined as string | undefined,
    parse: host as (raw: string) => string | undefined,
  },
  grpcPublicAddress: {
    env: 'BERTH_GRPC_PUBLIC_ADDRESS',
    flag: 'grpc-public-address',
    description: 'host:port agents dial for the gateway',
    defaultText: "the public URL's host and the gRPC port",
    fallback: () => undefined as string | undefined,
    parse: (raw: string): string | undefined => {
      if (!/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(raw)) throw new Error('must be host:port');
      return raw;
    },
  },
  heartbeatIntervalMs: {
    env: 'BERTH_HEARTBEAT_INTERVAL_MS',
    flag: 'heartbeat-interval-ms',
    description: 'how often agents send a heartbeat',
    defaultText: '5000',
    fallback: () => 5000,
    parse: integer(50, 600_000),
  },
  unreachableAfterMs: {
    env: 'BERTH_UNREACHABLE_AFTER_MS',
    flag: 'unreachable-after-ms',
    description: 'silence after which a server is reported unreachable',
    defaultText: '15000',
    fallback: () => 15_000,
    parse: integer(100, 3_600_000),
  },
  healthHistoryIntervalSeconds: {
    env: 'BERTH_HEALTH_HISTORY_INTERVAL_SECONDS',
    flag: 'health-history-interval-seconds',
    description: 'how often the health of every deployed resource is checked through its agent and kept as history',
    defaultText: '30',
    fallback: () => 30,
    parse: integer(5, 3600),
  },
  capacityPruneDiskPercent: {
    env: 'BERTH_CAPACITY_PRUNE_DISK_PERCENT',
    flag: 'capacity-prune-disk-percent',
    description: "a host sample with a disk at least this full runs the server's capacity prune policy",
    defaultText: '90',
    fallback: () => 90,
    parse: integer(50, 100),
  },
  telemetryIntervalMs: {
    env: 'BERTH_TELEMETRY_INTERVAL_MS',
    flag: 'telemetry-interval-ms',
    description:
      'how often agents take a monitoring sample and send it; samples older than three intervals read as stale',
    defaultText: '5000',
    fallback: () => 5000,
    parse: integer(200, 300_000),
  },
  agentCertificateDays: {
    env: 'BERTH_AGENT_CERT_DAYS',
    flag: 'agent-cert-days',
    description: "lifetime of an agent's client certificate (renewed over the link)",
    defaultText: '7',
    fallback: () => 7,
    parse: integer(1, 365),
  },
  enrollmentTtlMinutes: {
    env: 'BERTH_ENROLLMENT_TTL_MINUTES',
    flag: 'enrollment-ttl-minutes',
    description: 'how long an enrollment token stays usable',
    defaultText: '15',
    fallback: () => 15,
    parse: integer(1, 7 * 24 * 60),
  },
  deploymentDeadlineSeconds: {
    env: 'BERTH_DEPLOYMENT_DEADLINE_SECONDS',
    flag: 'deployment-deadline-seconds',
    description: 'how long a deployment may run before it ends failed (or interrupted, when its server is unreachable)',
    defaultText: '900',
    fallback: () => 900,
    parse: integer(10, 24 * 60 * 60),
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
  secretKey: {
    env: 'BERTH_SECRET_KEY',
    flag: 'secret-key',
    description:
      'key-encryption key for secrets at rest (32 bytes, base64); a comma-separated list during a rotation, the first one sealing; unset: generated into the data folder',
    fallback: () => undefined as string | undefined,
    parse: (raw: string): string | undefined => {
      parseKeyList(raw, 'the key list');
      return raw;
    },
    secret: true,
  },
  logLevel: logLevelSetting,
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
  dnsResolver: {
    env: 'BERTH_DNS_RESOLVER',
    flag: 'dns-resolver',
    description: 'host:port of the DNS server domain ownership checks ask; unset: the system resolvers',
    defaultText: 'the system resolvers',
    fallback: () => undefined as string | undefined,
    parse: (raw: string): string | undefined => {
      // node:dns `setServers` takes `1.2.3.4`, `1.2.3.4:53`, `[::1]:53`: an address, not a name.
      if (!/^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(raw)) {
        throw new Error('must be an IP address with an optional port (127.0.0.1:5353, [::1]:53)');
      }
      return raw;
    },
  },
  httpChallengePort: {
    env: 'BERTH_HTTP_CHALLENGE_PORT',
    flag: 'http-challenge-port',
    description: "port the http-token ownership check fetches the token from on the domain's address",
    defaultText: '80',
    fallback: () => 80,
    parse: integer(1, 65535),
  },
} satisfies Record<string, SettingSpec<unknown>>;

const controlPlaneConfig = configOf(controlPlaneSettings);

/** The control plane's validated configuration. */
export type ControlPlaneConfig = SettingValues<typeof controlPlaneSettings>;

/**
 * Parses the control plane's configuration from the environment and flags (flags win). Throws a `ConfigError`
 * listing every bad value.
 */
export const parseControlPlaneConfig = controlPlaneConfig.parse;

/** The configuration for the start-up log, with the database password hidden. */
export const sanitizeControlPlaneConfig = controlPlaneConfig.sanitize;
