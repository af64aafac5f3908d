import os from 'node:os';
import nodePath from 'node:path';
import {
  configOf,
  integer,
  logLevelSetting,
  path,
  type SettingSpec,
  type SettingValues,
  url,
} from '../shared/env-config.js';

/** Where the Docker engine listens: a unix socket, or a plain-HTTP TCP address (`tcp://host:port`, no TLS). */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

/** The state folder when `BERTH_AGENT_STATE_DIR` is unset: a system folder for root, the XDG state folder otherwise. */
function defaultStateDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/berth-agent';
  const base = process.env['XDG_STATE_HOME'] || nodePath.join(os.homedir(), '.local', 'state');
  return nodePath.join(base, 'berth-agent');
}

/**
 * Parses `DOCKER_HOST` as the Docker CLI spells it. Only `unix://` and plain `tcp://` are understood: a TLS
 * engine (`DOCKER_TLS_VERIFY`) would need client certificates the agent does not manage yet.
 */
export function parseDockerHost(raw: string): DockerEndpoint {
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error('must be unix:///absolute/path.sock or tcp://host:port');
    return { socketPath };
  }
  const tcp = /^tcp:\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/.exec(raw);
  if (tcp && Number(tcp[2]) <= 65535) return { host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) };
  throw new Error('must be unix:///absolute/path.sock or tcp://host:port');
}

/** Every setting of the agent: its variable, flag, default and meaning. */
export const agentSettings = {
  stateDir: {
    env: 'BERTH_AGENT_STATE_DIR',
    flag: 'state-dir',
    description: 'folder for the enrollment, credentials, spool and status',
    defaultText: '/var/lib/berth-agent as root, else ~/.local/state/berth-agent',
    fallback: defaultStateDir,
    parse: (raw: string) => nodePath.resolve(path(raw)),
  },
  logLevel: logLevelSetting,
  caddyAdminUrl: {
    env: 'BERTH_CADDY_ADMIN_URL',
    flag: 'caddy-admin-url',
    description: "Caddy's admin API, which the agent programs (loopback only)",
    defaultText: 'http://127.0.0.1:2019',
    fallback: () => 'http://127.0.0.1:2019',
    parse: (raw: string) => {
      const parsed = new URL(raw);
      if (
        parsed.protocol !== 'http:' ||
        !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(parsed.host.replace(/:\d+$/, ''))
      ) {
        throw new Error('must be an http:// URL on loopback, e.g. http://127.0.0.1:2019');
      }
      return raw.replace(/\/+$/, '');
    },
  },
  reconcileSeconds: {
    env: 'BERTH_RECONCILE_SECONDS',
    flag: 'reconcile-seconds',
    description: 'how often the agent checks Docker against the desired state (containers stopped or removed by hand)',
    defaultText: '30',
    fallback: () => 30,
    parse: integer(1, 3600),
  },
  edgeResolverPort: {
    env: 'BERTH_EDGE_RESOLVER_PORT',
    flag: 'edge-resolver-port',
    description:
      "UDP port on 127.0.0.1 of the resolver Caddy asks for each resource's current container; 0 picks a free port once and keeps it (edge-resolver.json)",
    defaultText: '0',
    fallback: () => 0,
    parse: integer(0, 65535),
  },
  proxyHttpPort: {
    env: 'BERTH_PROXY_HTTP_PORT',
    flag: 'proxy-http-port',
    description: "port of Caddy's plain-HTTP edge server (host routes, ACME http-01, redirects to HTTPS)",
    defaultText: '80',
    fallback: () => 80,
    parse: integer(1, 65535),
  },
  proxyHttpsPort: {
    env: 'BERTH_PROXY_HTTPS_PORT',
    flag: 'proxy-https-port',
    description: "port of Caddy's TLS edge server (host routes with ACME or imported certificates)",
    defaultText: '443',
    fallback: () => 443,
    parse: integer(1, 65535),
  },
  acmeDirectoryUrl: {
    env: 'BERTH_ACME_DIRECTORY_URL',
    flag: 'acme-directory-url',
    description: 'ACME directory Caddy obtains certificates from for routes with `tls: acme`',
    defaultText: 'https://acme-v02.api.letsencrypt.org/directory',
    fallback: () => 'https://acme-v02.api.letsencrypt.org/directory',
    parse: url(['https:']),
  },
  acmeEmail: {
    env: 'BERTH_ACME_EMAIL',
    flag: 'acme-email',
    description: 'contact e-mail of the ACME account (expiry notices); empty for none',
    defaultText: '',
    fallback: () => '',
    parse: (raw: string) => {
      if (!/^[^\s@]+@[^\s@]+$/.test(raw)) throw new Error('must be an e-mail address');
      return raw;
    },
  },
  acmeCaRoots: {
    env: 'BERTH_ACME_CA_ROOTS',
    flag: 'acme-ca-roots',
    description:
      "PEM file of the roots Caddy trusts for the ACME directory's own HTTPS (a private CA); empty: the system's",
    defaultText: '',
    fallback: () => '',
    parse: (raw: string) => nodePath.resolve(path(raw)),
  },
  dockerHost: {
    env: 'DOCKER_HOST',
    flag: 'docker-host',
    description: 'the Docker engine the agent drives',
    defaultText: 'unix:///var/run/docker.sock',
    fallback: (): DockerEndpoint => ({ socketPath: '/var/run/docker.sock' }),
    parse: parseDockerHost,
  },
} satisfies Record<string, SettingSpec<unknown>>;

const agentConfig = configOf(agentSettings);

/** The agent's validated configuration. */
export type AgentConfig = SettingValues<typeof agentSettings>;

/**
 * Parses the agent's configuration from the environment and flags (flags win). Throws a `ConfigError` listing
 * every bad value.
 */
export const parseAgentConfig = agentConfig.parse;

/** The configuration for the start-up log (nothing in it is secret; kept for symmetry with the control plane). */
export const sanitizeAgentConfig = agentConfig.sanitize;
