import { describe, expect, it } from 'vitest';
import { commandKind, commandKinds } from '../../shared/command-catalogue.js';
import type { DockerFactsJson } from '../docker/engine.js';
import { readHostFacts } from './host-facts.js';
import { type HandlerDeps, runCommand } from './index.js';

const hostFacts = {
  hostname: 'web-1',
  os: 'linux',
  kernel: '6.1.0',
  arch: 'x64',
  cpuCount: 4,
  memoryBytes: 8_000_000_000,
};
const dockerFacts: DockerFactsJson = { reachable: true, version: '20.10.24', apiVersion: '1.41', error: '' };
const deps: HandlerDeps = {
  hostFacts: () => hostFacts,
  docker: { facts: async () => dockerFacts },
  proxyAdminUrl: 'http://127.0.0.1:2019',
  proxyProbe: async () => ({ ok: true, status: 200 }),
};

describe('command handlers', () => {
  it('answers an unknown kind with unknown_command, naming the kinds it knows', async () => {
    const outcome = await runCommand('deploy', {}, deps);
    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'unknown_command' });
    if (!outcome.succeeded) for (const kind of commandKinds) expect(outcome.errorMessage).toContain(kind);
  });

  it("answers a payload that breaks its kind's schema with invalid_payload naming the field, and runs nothing", async () => {
    const outcome = await runCommand(commandKind.deploymentCancel, { deploymentId: 7 }, deps);
    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'invalid_payload' });
    if (!outcome.succeeded) expect(outcome.errorMessage).toContain('deploymentId');
  });

  it('answers a container command with unsupported when the agent runs no containers', async () => {
    const outcome = await runCommand(commandKind.deploymentCancel, { deploymentId: 'dep-1' }, deps);
    expect(outcome).toMatchObject({ succeeded: false, errorCode: 'unsupported' });
  });

  it('host.facts returns the host facts', async () => {
    expect(await runCommand(commandKind.hostFacts, undefined, deps)).toEqual({ succeeded: true, result: hostFacts });
  });

  it('docker.info reports an unreachable engine as a successful answer with the reason', async () => {
    const down = { reachable: false, version: '', apiVersion: '', error: 'no Docker engine at /x.sock (ENOENT)' };
    const outcome = await runCommand(commandKind.dockerInfo, undefined, {
      ...deps,
      docker: { facts: async () => down },
    });
    expect(outcome).toEqual({ succeeded: true, result: down });
  });

  it("proxy.check reports Caddy's admin API as reachable when it answers", async () => {
    expect(await runCommand(commandKind.proxyCheck, undefined, deps)).toEqual({
      succeeded: true,
      result: { reachable: true, adminUrl: 'http://127.0.0.1:2019', error: '' },
    });
  });

  it('proxy.check reports an unreachable admin API successfully, with the reason', async () => {
    const refused = Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const outcome = await runCommand(commandKind.proxyCheck, undefined, {
      ...deps,
      proxyProbe: async () => {
        throw refused;
      },
    });
    expect(outcome).toMatchObject({
      succeeded: true,
      result: { reachable: false, error: expect.stringContaining('ECONNREFUSED') },
    });
  });

  it('reads host facts from node:os in the proto field names', () => {
    const facts = readHostFacts({
      hostname: () => 'h',
      platform: () => 'linux',
      release: () => '6.1.0-18-amd64',
      arch: () => 'arm64',
      availableParallelism: () => 2,
      totalmem: () => 1024,
    });
    expect(facts).toEqual({
      hostname: 'h',
      os: 'linux',
      kernel: '6.1.0-18-amd64',
      arch: 'arm64',
      cpuCount: 2,
      memoryBytes: 1024,
    });
  });
});
