import Dockerode from 'dockerode';
import type { DockerEndpoint } from '../config.js';

/**
 * A dockerode client for the engine the agent's `DOCKER_HOST` names: its unix socket, or plain HTTP on
 * `host:port` (the config rejects TLS and ssh:// engines, so neither is set up here). No request timeout: log
 * follows and image pulls are long-lived by design; callers bound what they need with an AbortSignal.
 */
export function createDockerClient(endpoint: DockerEndpoint): Dockerode {
  if ('socketPath' in endpoint) return new Dockerode({ socketPath: endpoint.socketPath });
  return new Dockerode({ host: endpoint.host, port: endpoint.port, protocol: 'http' });
}
