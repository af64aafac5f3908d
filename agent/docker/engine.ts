import http from 'node:http';
import type { DockerFacts } from '../../shared/host-command.js';
import type { DockerEndpoint } from '../config.js';

/** What the agent reports about the Docker engine (Hello.docker, the `docker.info` result). */
export type DockerFactsJson = DockerFacts;

/** The few Docker engine calls the agent makes so far. */
export interface DockerEngine {
  /** `GET /_ping`; rejects when the engine does not answer OK within the timeout. */
  ping(): Promise<void>;
  /** `GET /version`; rejects when the engine is unreachable or answers with an error. */
  version(): Promise<{ version: string; apiVersion: string }>;
  /** {@link version} turned into facts: never rejects, an unreachable engine is a fact too. */
  facts(): Promise<DockerFactsJson>;
}

/** Options of {@link createDockerEngine}. */
export interface DockerEngineOptions {
  endpoint: DockerEndpoint;
  /** Per request, connection included. */
  timeoutMs?: number;
}

/**
 * A minimal Docker engine client over plain HTTP on the engine's socket (no dockerode: two GETs do not justify
 * its dependency tree). Every request is bounded by `timeoutMs` so a hung engine cannot stall a heartbeat or a
 * Hello.
 */
export function createDockerEngine(options: DockerEngineOptions): DockerEngine {
  const timeoutMs = options.timeoutMs ?? 3_000;

  function get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        // A connection of its own (agent: false): Node's global agent keeps sockets alive, and a check answered over a
        // socket that telemetry's stats streams kept open would say nothing about whether the engine still accepts one.
        { ...options.endpoint, path, method: 'GET', headers: { host: 'docker' }, timeout: timeoutMs, agent: false },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          response.on('error', reject);
        },
      );
      // `timeout` only fires on socket inactivity; destroying turns it into a rejection.
      request.on('timeout', () =>
        request.destroy(new Error(`no answer from the Docker engine within ${timeoutMs} ms`)),
      );
      request.on('error', reject);
      request.end();
    });
  }

  const engine: DockerEngine = {
    async ping() {
      const { status, body } = await get('/_ping');
      if (status !== 200) throw new Error(`the Docker engine answered /_ping with HTTP ${status}: ${body.trim()}`);
    },
    async version() {
      const { status, body } = await get('/version');
      if (status !== 200) throw new Error(`the Docker engine answered /version with HTTP ${status}: ${body.trim()}`);
      let parsed: { Version?: unknown; ApiVersion?: unknown };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        throw new Error('the Docker engine answered /version with something that is not JSON');
      }
      return { version: String(parsed.Version ?? ''), apiVersion: String(parsed.ApiVersion ?? '') };
    },
    async facts() {
      try {
        const { version, apiVersion } = await engine.version();
        return { reachable: true, version, apiVersion, error: '' };
      } catch (error) {
        return { reachable: false, version: '', apiVersion: '', error: describeError(error) };
      }
    },
  };
  return engine;
}

// ENOENT on a socket means "no engine there", which reads better than the raw errno line.
function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const address = (error as { address?: string }).address;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return `no Docker engine at ${address ?? 'the socket'} (${code})`;
  if (code === 'EACCES') return `permission denied on ${address ?? 'the Docker socket'}`;
  return error instanceof Error ? error.message : String(error);
}
