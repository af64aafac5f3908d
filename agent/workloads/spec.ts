import type { ContainerSpec, HealthPolicySpec } from '../../shared/deployment-command.js';

/** The wire types, under the names the container code uses. */
export type { ContainerSpec };
export type HealthPolicy = HealthPolicySpec;

/**
 * Labels Berth puts on every container it creates. `berth.managed=true` is what makes a container Berth's:
 * the agent never lists, stops or removes a container without it.
 */
export const berthLabels = {
  managed: 'berth.managed',
  project: 'berth.project',
  environment: 'berth.environment',
  resource: 'berth.resource',
  deployment: 'berth.deployment',
  service: 'berth.service',
} as const;

/** `berth-<resourceSlug>-<last 8 characters of the deployment id>`, with characters Docker rejects replaced. */
export function containerName(spec: Pick<ContainerSpec, 'resourceSlug' | 'deploymentId'>): string {
  const clean = (text: string) => text.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return `berth-${clean(spec.resourceSlug)}-${clean(spec.deploymentId.slice(-8))}`;
}

/** The container port the health check talks to, or null when neither the check nor the spec names one. */
export function healthCheckPort(health: HealthPolicy, internalPort: number | null): number | null {
  const own = health.type === 'http' ? health.http?.port : health.tcp?.port;
  return own ?? internalPort;
}
