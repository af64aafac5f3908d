import type { DeploymentDeps } from '../../agent/handlers/deployment.js';
import type { HealthPolicy } from '../../agent/workloads/spec.js';
import { type EventAttributes, type EventKind, eventKind } from '../../shared/command-catalogue.js';
import type { ContainerSpec, DeploymentApplyPayload } from '../../shared/deployment-command.js';
import { createLogger } from '../../shared/logger.js';
import type { DesiredRuntime } from '../../shared/runtime-command.js';
import { createFakeContainers, type FakeContainers, type FakeContainersOptions } from './fake-containers.js';
import { httpHealth, testRuntimeSpec } from './images.js';
import { createRecordingProxy, memoryListenPorts, type RecordingProxy } from './recording-proxy.js';

/** One event a handler emitted. */
export type RecordedEvent = { [K in EventKind]: { kind: K; attributes: EventAttributes<K> } }[EventKind];

/** {@link DeploymentDeps} over the fakes, with what they recorded. */
export interface FakeDeploymentDeps extends DeploymentDeps {
  containers: FakeContainers;
  /** The proxy, also when `traffic` was built null. */
  proxy: RecordingProxy;
  events: RecordedEvent[];
  /** The `eventType` of every `deployment.progress` event, in order. */
  progress(): string[];
  /** Called with every event as it is emitted, e.g. to cancel at a given step. */
  onEvent?: (event: RecordedEvent) => void;
  /** Deployment ids the desired state names. */
  desired: Set<string>;
}

/** Fakes for the deployment and runtime handlers; `traffic: null` builds an agent without a proxy. */
export function fakeDeploymentDeps(options: FakeContainersOptions & { traffic?: null } = {}): FakeDeploymentDeps {
  const containers = createFakeContainers(options);
  const proxy = createRecordingProxy();
  const deps: FakeDeploymentDeps = {
    containers,
    proxy,
    traffic: options.traffic === null ? null : proxy,
    listenPorts: memoryListenPorts(),
    probe: containers.probe,
    events: [],
    desired: new Set(),
    emit(kind, attributes) {
      const event = { kind, attributes } as RecordedEvent;
      deps.events.push(event);
      deps.onEvent?.(event);
    },
    progress: () =>
      deps.events.flatMap((e) => (e.kind === eventKind.deploymentProgress ? [e.attributes.eventType] : [])),
    log: createLogger({ level: 'silent', name: 'test' }),
    running: new Map(),
    prepare: async () => undefined,
    isDesired: (deploymentId) => deps.desired.has(deploymentId),
  };
  return deps;
}

/** {@link httpHealth} deciding in milliseconds: checks every 10 ms, two failures make it unhealthy. */
export function fastHealth(overrides: Partial<HealthPolicy> = {}): HealthPolicy {
  return httpHealth({ intervalSeconds: 0.01, timeoutSeconds: 0.05, retries: 2, ...overrides });
}

/** {@link testRuntimeSpec} for `resourceId` in a fixed project and environment, with {@link fastHealth}. */
export function fakeSpec(image: string, resourceId: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return testRuntimeSpec(image, {
    resourceId,
    environmentId: 'env_test',
    projectId: 'prj_test',
    health: fastHealth(),
    ...overrides,
  });
}

/** The `deployment.apply` payload of `spec`: no drain, no preferred listen port. */
export function applyPayload(
  spec: ContainerSpec,
  overrides: Partial<DeploymentApplyPayload> = {},
): DeploymentApplyPayload {
  return { spec, preferredListenPort: null, drainSeconds: 0, stopGraceSeconds: 1, ...overrides };
}

/** The desired runtime of `spec`'s deployment. */
export function desiredRuntime(spec: ContainerSpec, state: DesiredRuntime['state'] = 'running'): DesiredRuntime {
  return {
    resourceId: spec.resourceId,
    deploymentId: spec.deploymentId,
    internalPort: spec.internalPort,
    preferredListenPort: null,
    health: spec.health,
    state,
  };
}
