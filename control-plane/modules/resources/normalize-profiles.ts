import type { Static } from 'typebox';
import { AppError } from '../../../shared/errors.js';
import { ImageReferenceError, parseImageReference } from '../../../shared/image-reference.js';
import {
  type AccessProfile,
  type AccessProfileInput,
  defaultAccessProfile,
  defaultHealthPolicy,
  defaultRuntimeProfile,
  type HealthCheckInput,
  type HealthPolicy,
  type NetworkProfile,
  type NetworkProfileInput,
  type RuntimeProfile,
  type RuntimeProfileInput,
  type SourceInput,
  type SourceProfile,
} from './profiles.js';

/**
 * Input → stored profile, with the defaults of docs/resources.md and the cross-field rules a schema cannot express.
 * Each throws VALIDATION_ERROR naming the field, so nothing is stored when a rule fails.
 */

function invalid(field: string, message: string, hint?: string): AppError {
  return new AppError('validation_failed', message, hint === undefined ? { field } : { field, hint });
}

/** An image source from its locator or its parts (both given must agree). */
export function normalizeSource(input: Static<typeof SourceInput>, field = 'source'): SourceProfile {
  if (input.kind !== 'docker-image') {
    throw invalid(
      `${field}.kind`,
      `Source kind "${input.kind}" is not supported yet.`,
      'Berth deploys container images today: send {"kind": "docker-image", "locator": "<image>:<tag>"}.',
    );
  }
  const fromParts =
    input.imageName === undefined
      ? undefined
      : `${input.imageName}${input.imageTag ? `:${input.imageTag}` : ''}${input.imageDigest ? `@${input.imageDigest}` : ''}`;
  const text = input.locator ?? fromParts;
  if (text === undefined) {
    throw invalid(
      `${field}.locator`,
      'An image source needs a locator (or an imageName).',
      'For example {"kind": "docker-image", "locator": "nginx:1.27"}.',
    );
  }
  let image: ReturnType<typeof parseImageReference>;
  try {
    image = parseImageReference(text);
  } catch (error) {
    if (!(error instanceof ImageReferenceError)) throw error;
    throw invalid(
      input.locator !== undefined ? `${field}.locator` : `${field}.imageName`,
      `"${text}" is not an image reference: ${error.message}`,
      'Use name[:tag][@sha256:digest], e.g. nginx:1.27 or ghcr.io/acme/web:2.3.1.',
    );
  }
  if (input.locator !== undefined && fromParts !== undefined) {
    const parts = parseImageReference(fromParts);
    if (parts.locator !== image.locator) {
      throw invalid(
        `${field}.imageName`,
        `The locator "${image.locator}" and the image parts "${parts.locator}" disagree.`,
        'Send the locator alone, or parts that spell the same reference.',
      );
    }
  }
  return {
    kind: 'docker-image',
    locator: image.locator,
    displayName: input.displayName?.trim() || null,
    imageName: image.name,
    imageTag: image.tag,
    imageDigest: image.digest,
    metadata: {
      ...(input.metadata ?? {}),
      ...(input.version ? { version: input.version } : {}),
      ...(input.versionKind ? { versionKind: input.versionKind } : {}),
    },
  };
}

export function normalizeNetworkProfile(
  input: Static<typeof NetworkProfileInput>,
  field = 'networkProfile',
): NetworkProfile {
  const exposureMode = input.exposureMode ?? 'reverse-proxy';
  const hostPort = input.hostPort ?? null;
  if (hostPort !== null && exposureMode !== 'direct-port') {
    throw invalid(
      `${field}.hostPort`,
      'A host port is only used with exposureMode "direct-port".',
      'Set "exposureMode": "direct-port", or leave hostPort out.',
    );
  }
  if (exposureMode === 'direct-port' && hostPort === null) {
    throw invalid(
      `${field}.hostPort`,
      'exposureMode "direct-port" needs the host port to publish.',
      'Add "hostPort": <1–65535>.',
    );
  }
  return {
    internalPort: input.internalPort,
    upstreamProtocol: input.upstreamProtocol ?? 'http',
    exposureMode,
    targetServiceName: input.targetServiceName?.trim() || null,
    hostPort,
  };
}

export function normalizeAccessProfile(input: Static<typeof AccessProfileInput>): AccessProfile {
  return {
    generatedAccessMode: input.generatedAccessMode ?? defaultAccessProfile.generatedAccessMode,
    pathPrefix: input.pathPrefix ?? defaultAccessProfile.pathPrefix,
  };
}

export function normalizeHealthPolicy(input: Static<typeof HealthCheckInput>, field = 'healthCheck'): HealthPolicy {
  const type = input.type ?? (input.tcp !== undefined && input.http === undefined ? 'tcp' : 'http');
  if (type === 'command') {
    throw invalid(
      `${field}.type`,
      'Command health checks are not supported yet.',
      'Use "type": "http" (a path that answers) or "type": "tcp" (a port that accepts connections).',
    );
  }
  if (type === 'http' && input.tcp !== undefined)
    throw invalid(`${field}.tcp`, 'A "tcp" section belongs to "type": "tcp".');
  if (type === 'tcp' && input.http !== undefined)
    throw invalid(`${field}.http`, 'An "http" section belongs to "type": "http".');
  const d = defaultHealthPolicy;
  const intervalSeconds = input.intervalSeconds ?? d.intervalSeconds;
  const timeoutSeconds = input.timeoutSeconds ?? Math.min(d.timeoutSeconds, intervalSeconds);
  if (timeoutSeconds > intervalSeconds) {
    throw invalid(
      `${field}.timeoutSeconds`,
      `The timeout (${timeoutSeconds} s) is longer than the interval (${intervalSeconds} s).`,
      'A check must end before the next one starts: make timeoutSeconds at most intervalSeconds.',
    );
  }
  const http = input.http ?? {};
  return {
    enabled: input.enabled ?? true,
    type,
    intervalSeconds,
    timeoutSeconds,
    retries: input.retries ?? d.retries,
    startPeriodSeconds: input.startPeriodSeconds ?? d.startPeriodSeconds,
    http:
      type === 'http'
        ? {
            method: http.method ?? 'GET',
            scheme: http.scheme ?? 'http',
            host: http.host?.trim() || null,
            port: http.port ?? null,
            path: http.path ?? '/',
            expectedStatusCode: http.expectedStatusCode ?? 200,
            expectedResponseText: http.expectedResponseText ?? null,
          }
        : null,
    tcp: type === 'tcp' ? { port: input.tcp?.port ?? null } : null,
  };
}

export function normalizeRuntimeProfile(
  input: Static<typeof RuntimeProfileInput>,
  field = 'runtimeProfile',
): RuntimeProfile {
  const strategy = input.strategy ?? 'auto';
  for (const name of [
    'installCommand',
    'buildCommand',
    'runtimeName',
    'publishDirectory',
    'dockerfilePath',
    'dockerComposeFilePath',
    'buildTarget',
  ] as const) {
    if (input[name]) {
      throw invalid(
        `${field}.${name}`,
        `${name} is not supported yet: Berth runs prebuilt images and does not build.`,
        'Build the image yourself and set it as the source; send null or leave the field out.',
      );
    }
  }
  if (strategy !== 'auto' && strategy !== 'prebuilt-image') {
    throw invalid(
      `${field}.strategy`,
      `Runtime strategy "${strategy}" is not supported yet.`,
      'Berth runs prebuilt images today: use "auto" or "prebuilt-image".',
    );
  }
  const startCommand = input.startCommand ?? null;
  if (startCommand !== null && (input.command ?? null) !== null) {
    throw invalid(
      `${field}.startCommand`,
      'Give either startCommand (run by /bin/sh -c) or command (an argument list), not both.',
    );
  }
  return {
    strategy,
    command: input.command ?? null,
    arguments: input.arguments ?? null,
    startCommand,
    workingDirectory: input.workingDirectory ?? null,
    cpuLimit: input.cpuLimit ?? null,
    memoryLimitMb: input.memoryLimitMb ?? null,
    restartPolicy: input.restartPolicy ?? defaultRuntimeProfile.restartPolicy,
    healthCheckPath: input.healthCheckPath ?? null,
  };
}
