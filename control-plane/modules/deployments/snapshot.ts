import type { ContainerSpec } from '../../../shared/deployment-command.js';
import { newId } from '../../../shared/ids.js';
import type { ConfigEntry } from '../configuration/entity.js';
import { precedenceLadder, resolvePrecedence } from '../configuration/precedence.js';
import { toEntryView } from '../configuration/service.js';
import type { Environment } from '../environments/entity.js';
import type { Resource } from '../resources/entity.js';
import {
  type AccessProfile,
  defaultAccessProfile,
  defaultHealthPolicy,
  defaultRuntimeProfile,
  type HealthPolicy,
  type NetworkProfile,
  type RuntimeProfile,
  type SourceProfile,
} from '../resources/profiles.js';
import type { Server } from '../servers/entity.js';

/** The spec of the container, without the environment's values (those are sealed beside the snapshot). */
export type SnapshotSpec = Omit<ContainerSpec, 'env' | 'deploymentId'> & {
  envKeys: string[];
  preferredListenPort: number | null;
};

/** What a deployment froze at creation: the seed's runtimePlan and environmentSnapshot, and the agent's spec. */
export interface DeploymentSnapshot {
  runtimePlan: ReturnType<typeof runtimePlanOf>;
  environmentSnapshot: {
    id: string;
    environmentId: string;
    createdAt: string;
    precedence: string[];
    variables: ReturnType<typeof toEntryView>[];
  };
  spec: SnapshotSpec;
}

function runtimePlanOf(input: {
  source: SourceProfile;
  runtime: RuntimeProfile;
  network: NetworkProfile | null;
  health: HealthPolicy;
  server: Server;
  pathPrefix: string;
  at: string;
}) {
  const { source, runtime, network, health, server } = input;
  return {
    id: newId('deployment').replace(/^dep-/, 'rpl-'),
    source: {
      kind: source.kind,
      locator: source.locator,
      displayName: source.displayName ?? source.locator,
      integrationKey: null,
      // Nothing to detect in a prebuilt image: the inspection says so rather than guessing a framework.
      inspection: {
        runtimeFamily: 'container-image',
        framework: null,
        packageManager: null,
        applicationShape: 'container',
        runtimeVersion: null,
        projectName: null,
        detectedFiles: [],
        detectedScripts: [],
        dockerfilePath: null,
        composeFilePath: null,
        jarPath: null,
      },
      metadata: source.metadata,
    },
    buildStrategy: 'prebuilt-image',
    packagingMode: 'split-deploy',
    runtimeArtifact: { kind: 'image', intent: 'use-image', image: source.locator, composeFile: null, metadata: {} },
    execution: {
      kind: 'docker-container',
      workingDirectory: runtime.workingDirectory,
      installCommand: null,
      buildCommand: null,
      startCommand: runtime.startCommand,
      healthCheckPath: health.http?.path ?? null,
      healthCheck: health,
      port: network?.internalPort ?? null,
      image: source.locator,
      dockerfilePath: null,
      composeFile: null,
      accessRoutes: [
        {
          proxyKind: 'caddy',
          domains: [],
          pathPrefix: input.pathPrefix,
          tlsMode: 'disabled',
          targetPort: network?.internalPort ?? null,
        },
      ],
      verificationSteps: [
        {
          kind: health.enabled ? (health.type === 'http' ? 'internal-http' : 'internal-tcp') : 'container-running',
          label: health.enabled ? `${health.type} health check` : 'container keeps running',
        },
      ],
      metadata: {},
    },
    target: { kind: 'single-server', providerKey: server.providerKey, serverIds: [server.id], metadata: {} },
    detectSummary: `Run the image ${source.locator} on ${server.name}.`,
    steps: [
      'use or pull the image',
      'create and start the container',
      'verify health',
      'switch traffic',
      'stop the previous container',
    ],
    generatedAt: input.at,
  };
}

/**
 * The profiles a deployment of the resource runs with: the configured ones, or the defaults where none is set.
 * The plan preview reads them here too, so it shows what a deployment would freeze.
 */
export function effectiveProfiles(resource: Resource) {
  return {
    runtime: (resource.runtimeProfile ?? defaultRuntimeProfile) as RuntimeProfile,
    network: (resource.networkProfile ?? null) as NetworkProfile | null,
    health: (resource.healthPolicy ?? defaultHealthPolicy) as HealthPolicy,
    access: (resource.accessProfile ?? defaultAccessProfile) as AccessProfile,
  };
}

/**
 * Freezes a resource's configuration for a deployment: the plan and the masked variables for reads, the spec for
 * the agent, and the runtime values in clear for the caller to seal (they never go into the snapshot itself).
 */
export function buildSnapshot(input: {
  resource: Resource;
  environment: Environment;
  server: Server;
  entries: ConfigEntry[];
  reveal: (entry: ConfigEntry) => string;
  at: Date;
}): { snapshot: DeploymentSnapshot; env: Record<string, string> } {
  const { resource, environment, server, entries, at } = input;
  const source = resource.source as SourceProfile;
  const { runtime, network, health, access } = effectiveProfiles(resource);
  const effective = resolvePrecedence(entries).effective;
  const runtimeEntries = effective.filter((e) => e.exposure === 'runtime');
  const env = Object.fromEntries(runtimeEntries.map((e) => [e.key, input.reveal(e)]));
  const createdAt = at.toISOString();
  return {
    env,
    snapshot: {
      runtimePlan: runtimePlanOf({
        source,
        runtime,
        network,
        health,
        server,
        pathPrefix: access.pathPrefix,
        at: createdAt,
      }),
      environmentSnapshot: {
        id: `envs-${resource.id.slice(4)}-${at.getTime().toString(36)}`,
        environmentId: environment.id,
        createdAt,
        precedence: [...precedenceLadder],
        variables: effective.map(toEntryView),
      },
      spec: {
        resourceId: resource.id,
        resourceSlug: resource.slug,
        environmentId: environment.id,
        projectId: resource.project.id,
        image: source.locator,
        envKeys: Object.keys(env),
        internalPort: network?.internalPort ?? null,
        command: runtime.command,
        arguments: runtime.arguments,
        startCommand: runtime.startCommand,
        workingDirectory: runtime.workingDirectory,
        cpuLimit: runtime.cpuLimit,
        memoryLimitMb: runtime.memoryLimitMb,
        restartPolicy: runtime.restartPolicy,
        health,
        preferredListenPort: network?.exposureMode === 'direct-port' ? network.hostPort : null,
      },
    },
  };
}
