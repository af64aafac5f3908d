import type { DockerEngine, DockerFactsJson } from '../docker/engine.js';

/**
 * `docker.info`: whether the engine answers and which version it is. An unreachable engine is a successful
 * answer (`reachable: false` with the reason), not a failed command: the command's job is to report.
 */
export function handleDockerInfo(deps: { docker: Pick<DockerEngine, 'facts'> }): Promise<DockerFactsJson> {
  return deps.docker.facts();
}
