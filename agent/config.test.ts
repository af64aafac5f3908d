import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/env-config.js';
import { parseAgentConfig, parseDockerHost } from './config.js';

describe('agent config', () => {
  it('defaults to the standard Docker socket and info logs', () => {
    const config = parseAgentConfig({ BERTH_AGENT_STATE_DIR: '/tmp/agent-state' });
    expect(config).toEqual({
      stateDir: '/tmp/agent-state',
      logLevel: 'info',
      caddyAdminUrl: 'http://127.0.0.1:2019',
      reconcileSeconds: 30,
      edgeResolverPort: 0,
      proxyHttpPort: 80,
      proxyHttpsPort: 443,
      acmeDirectoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
      acmeEmail: '',
      acmeCaRoots: '',
      dockerHost: { socketPath: '/var/run/docker.sock' },
    });
  });

  it('lets a flag win over the variable', () => {
    const config = parseAgentConfig({ BERTH_AGENT_STATE_DIR: '/a' }, { 'state-dir': '/b' });
    expect(config.stateDir).toBe('/b');
  });

  it('understands DOCKER_HOST as unix:// or tcp://', () => {
    expect(parseDockerHost('unix:///run/user/1000/docker.sock')).toEqual({ socketPath: '/run/user/1000/docker.sock' });
    expect(parseDockerHost('tcp://127.0.0.1:2375')).toEqual({ host: '127.0.0.1', port: 2375 });
    expect(parseDockerHost('tcp://[::1]:2375')).toEqual({ host: '::1', port: 2375 });
  });

  it('lists every bad value at once, naming the variable', () => {
    let failure: unknown;
    try {
      parseAgentConfig({ DOCKER_HOST: 'ssh://box', BERTH_LOG_LEVEL: 'loud' });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).problems).toEqual([
      'BERTH_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'DOCKER_HOST: must be unix:///absolute/path.sock or tcp://host:port (got "ssh://box")',
    ]);
  });
});
