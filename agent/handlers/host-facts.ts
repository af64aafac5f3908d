import os from 'node:os';
import type { HostFacts } from '../../shared/host-command.js';

/** The host facts (the `host.facts` result and Hello.host). */
export type HostFactsJson = HostFacts;

/** The parts of `node:os` the facts come from, so tests can pass fixed values. */
export type OsFacts = Pick<
  typeof os,
  'hostname' | 'platform' | 'release' | 'arch' | 'availableParallelism' | 'totalmem'
>;

/**
 * Reads the host facts. Cheap (no I/O beyond a few syscalls), so it runs fresh for every Hello and command.
 * `availableParallelism` rather than `cpus().length`: it respects CPU affinity, and `cpus()` is empty on some
 * container hosts.
 */
export function readHostFacts(source: OsFacts = os): HostFactsJson {
  return {
    hostname: source.hostname(),
    os: source.platform(),
    kernel: source.release(),
    arch: source.arch(),
    cpuCount: source.availableParallelism(),
    memoryBytes: source.totalmem(),
  };
}

/** `host.facts`: answers the host facts. Takes no payload. */
export function handleHostFacts(deps: { hostFacts: () => HostFactsJson }): HostFactsJson {
  return deps.hostFacts();
}
