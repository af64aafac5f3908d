import { type CommandKind, type CommandResultOf, commandKind, isCommandKind } from '../../shared/command-catalogue.js';

/** A valid result for every command kind (typed by the catalogue), for fake agents that answer without running anything. */
export const sampleResults: { [K in CommandKind]: CommandResultOf<K> } = {
  [commandKind.hostFacts]: {
    hostname: 'fake-host',
    os: 'linux',
    kernel: '6.1.0',
    arch: 'x64',
    cpuCount: 2,
    memoryBytes: 4_000_000_000,
  },
  [commandKind.dockerInfo]: { reachable: true, version: '20.10.24', apiVersion: '1.41', error: '' },
  [commandKind.proxyCheck]: {
    reachable: false,
    adminUrl: 'http://127.0.0.1:2019',
    error: 'no edge proxy in this test',
  },
  [commandKind.deploymentApply]: {
    containerId: 'c0ffee',
    containerName: 'berth-fake',
    accessUrl: 'http://127.0.0.1:20001',
    listenPort: 20001,
    trafficSwitch: 'caddy',
    replacedDeploymentIds: [],
  },
  [commandKind.deploymentCancel]: { deploymentId: 'dep-fake', wasRunning: false, removedContainer: false },
  [commandKind.runtimeControl]: { runtimeState: 'running', containerName: 'berth-fake', accessUrl: null },
  [commandKind.runtimeInspect]: {
    observedAt: '2026-01-01T00:00:00.000Z',
    container: null,
    route: null,
    probe: null,
  },
  [commandKind.edgeSync]: {
    version: 1,
    status: 'ready',
    changed: true,
    appliedAt: '2026-01-01T00:00:00.000Z',
    httpPort: 80,
    httpsPort: 443,
  },
  [commandKind.edgeBootstrap]: {
    action: 'adopted',
    caddyVersion: 'v2.6.2',
    adminUrl: 'http://127.0.0.1:2019',
    httpPort: 80,
    httpsPort: 443,
  },
  [commandKind.edgeInspect]: {
    observedAt: '2026-01-01T00:00:00.000Z',
    reachable: false,
    error: 'no edge proxy in this test',
    adminUrl: 'http://127.0.0.1:2019',
    httpPort: 80,
    httpsPort: 443,
    appliedVersion: 0,
    routes: [],
    foreignRouteCount: 0,
    certificates: [],
  },
};

/** The sample result of `kind`, or an empty object for a kind outside the catalogue. */
export function sampleResultOf(kind: string): unknown {
  return isCommandKind(kind) ? sampleResults[kind] : {};
}
