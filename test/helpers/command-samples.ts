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
  [commandKind.capacityInspect]: {
    inspectedAt: '2026-01-01T00:00:00.000Z',
    disk: [{ path: '/', mount: '/dev/vda1', size: 5000, used: 2000, available: 3000, usePercent: 40 }],
    inodes: [{ path: '/', mount: '/dev/vda1', used: 10, free: 90, usePercent: 10 }],
    docker: {
      imagesSize: 100,
      reclaimableImagesSize: 10,
      buildCacheSize: 0,
      reclaimableBuildCacheSize: 0,
      containersSize: 5,
      volumesSize: 0,
    },
    memory: { total: 1000, available: 600, used: 400, usePercent: 40 },
    cpu: { logicalCores: 2, loadAverage1m: 0.1, loadAverage5m: 0.1, loadAverage15m: 0.1 },
    stateRoot: { path: '/var/lib/berth-agent', size: 1000, detectable: true },
    containers: [
      {
        id: 'c1',
        name: 'berth-web-1',
        running: false,
        status: 'exited',
        writableBytes: 5,
        deploymentId: 'dep-1',
        projectId: 'prj-1',
        environmentId: 'env-1',
        resourceId: 'res-1',
        image: 'berth-test/web:1',
      },
    ],
    estimate: { stoppedContainersSize: 5, unusedImagesSize: 10 },
    warnings: [],
    partial: false,
  },
  [commandKind.capacityPrune]: {
    prunedAt: '2026-01-01T00:00:00.000Z',
    inspectedCount: 3,
    excludedCount: 1,
    reclaimedBytes: 0,
    candidates: [
      {
        id: 'c1',
        category: 'stopped-containers',
        target: 'berth-web-1',
        updatedAt: '2025-12-31T00:00:00.000Z',
        size: 5,
        action: 'matched',
      },
    ],
    warnings: [],
  },
  [commandKind.terminalOpen]: { started: true, target: 'berth-web-1', tty: true, workingDirectory: '/' },
};

/** The sample result of `kind`, or an empty object for a kind outside the catalogue. */
export function sampleResultOf(kind: string): unknown {
  return isCommandKind(kind) ? sampleResults[kind] : {};
}
