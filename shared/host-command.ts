import { type Static, Type } from 'typebox';

/** The commands that report on the server itself: `host.facts`, `docker.info` and `proxy.check`. None takes a payload. */

/** The host facts, shaped like the proto's HostFacts in JSON (the `host.facts` result and Hello.host). */
export const HostFactsSchema = Type.Object({
  hostname: Type.String(),
  /** `os.platform()`, e.g. "linux". */
  os: Type.String(),
  /** `os.release()`, the kernel release, e.g. "6.1.0-18-amd64". */
  kernel: Type.String(),
  arch: Type.String(),
  cpuCount: Type.Integer({ minimum: 0 }),
  memoryBytes: Type.Number({ minimum: 0 }),
});
export type HostFacts = Static<typeof HostFactsSchema>;

/** What the agent reports about the Docker engine (Hello.docker, the `docker.info` result). */
export const DockerFactsSchema = Type.Object({
  reachable: Type.Boolean(),
  /** The engine's version, e.g. "20.10.24"; empty when unreachable. */
  version: Type.String(),
  /** The engine's API version, e.g. "1.41"; empty when unreachable. */
  apiVersion: Type.String(),
  /** Why the engine could not be reached; empty when reachable. */
  error: Type.String(),
});
export type DockerFacts = Static<typeof DockerFactsSchema>;

/** The `proxy.check` result: whether the edge proxy's admin API answers. */
export const ProxyCheckResultSchema = Type.Object({
  reachable: Type.Boolean(),
  adminUrl: Type.String(),
  error: Type.String(),
});
export type ProxyCheckResult = Static<typeof ProxyCheckResultSchema>;

/** A command that takes no payload: anything sent (an empty object, or nothing) is ignored. */
export const NoPayloadSchema = Type.Unknown();
