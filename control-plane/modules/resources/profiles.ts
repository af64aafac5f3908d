import { Type } from 'typebox';
import type { HealthPolicySpec } from '../../../shared/deployment-command.js';

/**
 * The resource profiles: what each POST accepts, what is stored, and the rules a schema cannot express (a health
 * check's timeout within its interval, a host port only with direct-port exposure…). Each profile is replaced whole.
 */

/** ENUMS.md sourceKinds; Berth deploys `docker-image` today, the others are refused with a hint. */
export const sourceKinds = [
  'local-folder',
  'local-git',
  'remote-git',
  'git-public',
  'git-github-app',
  'git-deploy-key',
  'zip-artifact',
  'dockerfile-inline',
  'docker-compose-inline',
  'docker-image',
  'compose',
  'helm-chart',
] as const;
export const serviceKinds = ['web', 'api', 'worker', 'database', 'cache', 'service'] as const;
export const networkProtocols = ['http', 'tcp'] as const;
export const exposureModes = ['none', 'reverse-proxy', 'direct-port'] as const;
export const generatedAccessModes = ['inherit', 'disabled'] as const;
/** ENUMS.md healthCheckTypes plus `tcp` (a port that accepts a connection), which Berth adds for non-HTTP apps. */
export const healthCheckTypes = ['http', 'tcp', 'command'] as const;
export const healthCheckMethods = ['GET', 'HEAD', 'POST', 'OPTIONS'] as const;
export const healthCheckSchemes = ['http', 'https'] as const;
/** ENUMS.md runtimePlanStrategies; an image source runs as it is built (`auto` = `prebuilt-image`). */
export const runtimeStrategies = [
  'auto',
  'dockerfile',
  'docker-compose',
  'prebuilt-image',
  'workspace-commands',
  'static',
  'helm',
] as const;
/** Docker's restart policies. */
export const restartPolicies = ['no', 'always', 'unless-stopped', 'on-failure'] as const;

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const ShortText = (maxLength: number) => Type.String({ maxLength });
const Optional = Type.Optional;
const OrNull = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

// ---------------------------------------------------------------------------------------------------------------
// Inputs (bodies). Unknown fields are refused; optional fields take the defaults documented in docs/resources.md.

export const SourceInput = Type.Object(
  {
    kind: Type.Enum(sourceKinds),
    locator: Optional(
      Type.String({
        minLength: 1,
        maxLength: 600,
        description: 'The whole image reference, e.g. `nginx:1.27` or `docker://ghcr.io/acme/web@sha256:…`.',
      }),
    ),
    displayName: Optional(OrNull(ShortText(200))),
    imageName: Optional(Type.String({ minLength: 1, maxLength: 255 })),
    imageTag: Optional(OrNull(Type.String({ minLength: 1, maxLength: 128 }))),
    imageDigest: Optional(OrNull(Type.String({ minLength: 1, maxLength: 200 }))),
    baseDirectory: Optional(OrNull(ShortText(500))),
    gitRef: Optional(OrNull(ShortText(255))),
    // What clients of the reference API send alongside an image; kept in the source's metadata.
    version: Optional(OrNull(ShortText(128))),
    versionKind: Optional(OrNull(ShortText(40))),
    metadata: Optional(
      Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 500 }), { maxProperties: 50 }),
    ),
  },
  { additionalProperties: false },
);

export const NetworkProfileInput = Type.Object(
  {
    internalPort: Port,
    upstreamProtocol: Optional(Type.Enum(networkProtocols)),
    exposureMode: Optional(Type.Enum(exposureModes)),
    targetServiceName: Optional(OrNull(ShortText(100))),
    hostPort: Optional(OrNull(Port)),
  },
  { additionalProperties: false },
);

export const AccessProfileInput = Type.Object(
  {
    generatedAccessMode: Optional(Type.Enum(generatedAccessModes)),
    pathPrefix: Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^/' })),
  },
  { additionalProperties: false },
);

const Seconds = (minimum: number) => Type.Integer({ minimum, maximum: 3600 });

export const HealthCheckInput = Type.Object(
  {
    enabled: Optional(Type.Boolean()),
    type: Optional(Type.Enum(healthCheckTypes)),
    intervalSeconds: Optional(Seconds(1)),
    timeoutSeconds: Optional(Seconds(1)),
    retries: Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startPeriodSeconds: Optional(Seconds(0)),
    http: Optional(
      Type.Object(
        {
          method: Optional(Type.Enum(healthCheckMethods)),
          scheme: Optional(Type.Enum(healthCheckSchemes)),
          host: Optional(OrNull(ShortText(253))),
          port: Optional(OrNull(Port)),
          path: Optional(Type.String({ minLength: 1, maxLength: 500, pattern: '^/' })),
          expectedStatusCode: Optional(Type.Integer({ minimum: 100, maximum: 599 })),
          expectedResponseText: Optional(OrNull(ShortText(500))),
        },
        { additionalProperties: false },
      ),
    ),
    tcp: Optional(Type.Object({ port: Optional(OrNull(Port)) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

const Argv = Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 100 });

export const RuntimeProfileInput = Type.Object(
  {
    strategy: Optional(Type.Enum(runtimeStrategies)),
    command: Optional(OrNull(Argv)),
    arguments: Optional(OrNull(Argv)),
    startCommand: Optional(OrNull(Type.String({ minLength: 1, maxLength: 4096 }))),
    workingDirectory: Optional(OrNull(Type.String({ minLength: 1, maxLength: 500, pattern: '^/' }))),
    cpuLimit: Optional(OrNull(Type.Number({ exclusiveMinimum: 0, maximum: 1024, description: 'CPU cores, e.g. 0.5' }))),
    memoryLimitMb: Optional(
      OrNull(Type.Integer({ minimum: 6, maximum: 4194304, description: 'MiB; Docker needs at least 6' })),
    ),
    restartPolicy: Optional(Type.Enum(restartPolicies)),
    healthCheckPath: Optional(OrNull(Type.String({ minLength: 1, maxLength: 500, pattern: '^/' }))),
    // The reference API's build settings: clients spell them out as null; a value is refused (no builds yet).
    installCommand: Optional(OrNull(ShortText(4096))),
    buildCommand: Optional(OrNull(ShortText(4096))),
    runtimeName: Optional(OrNull(ShortText(100))),
    publishDirectory: Optional(OrNull(ShortText(500))),
    dockerfilePath: Optional(OrNull(ShortText(500))),
    dockerComposeFilePath: Optional(OrNull(ShortText(500))),
    buildTarget: Optional(OrNull(ShortText(200))),
    /** The same object as `POST …/health-policy` takes; given here, it sets the resource's health policy too. */
    healthCheck: Optional(OrNull(HealthCheckInput)),
  },
  { additionalProperties: false },
);

// ---------------------------------------------------------------------------------------------------------------
// Stored documents, as `show` returns them.

export interface ResourceService {
  name: string;
  kind: (typeof serviceKinds)[number];
}

export interface SourceProfile {
  kind: 'docker-image';
  locator: string;
  displayName: string | null;
  imageName: string;
  imageTag: string | null;
  imageDigest: string | null;
  metadata: Record<string, string>;
}

export interface NetworkProfile {
  internalPort: number;
  upstreamProtocol: (typeof networkProtocols)[number];
  exposureMode: (typeof exposureModes)[number];
  targetServiceName: string | null;
  hostPort: number | null;
}

export interface AccessProfile {
  generatedAccessMode: (typeof generatedAccessModes)[number];
  pathPrefix: string;
}

/**
 * A resource's health policy is the agent's health spec as it is: stored on the resource, copied into the
 * deployment's snapshot and sent on the wire unchanged.
 */
export type HealthPolicy = HealthPolicySpec;

export interface RuntimeProfile {
  strategy: 'auto' | 'prebuilt-image';
  command: string[] | null;
  arguments: string[] | null;
  startCommand: string | null;
  workingDirectory: string | null;
  cpuLimit: number | null;
  memoryLimitMb: number | null;
  restartPolicy: (typeof restartPolicies)[number];
  healthCheckPath: string | null;
}

/** The policy a resource has until one is configured, and after a reset: an HTTP GET of `/` expecting 200. */
export const defaultHealthPolicy: HealthPolicy = {
  enabled: true,
  type: 'http',
  intervalSeconds: 5,
  timeoutSeconds: 3,
  retries: 3,
  startPeriodSeconds: 0,
  http: {
    method: 'GET',
    scheme: 'http',
    host: null,
    port: null,
    path: '/',
    expectedStatusCode: 200,
    expectedResponseText: null,
  },
  tcp: null,
};

export const defaultRuntimeProfile: RuntimeProfile = {
  strategy: 'auto',
  command: null,
  arguments: null,
  startCommand: null,
  workingDirectory: null,
  cpuLimit: null,
  memoryLimitMb: null,
  restartPolicy: 'unless-stopped',
  healthCheckPath: null,
};

export const defaultAccessProfile: AccessProfile = { generatedAccessMode: 'inherit', pathPrefix: '/' };
