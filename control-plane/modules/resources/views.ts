import type { Resource } from './entity.js';
import { defaultHealthPolicy } from './profiles.js';

/** The read models of a resource: the seed's core fields, the effective health policy, profile diagnostics. */

export function healthPolicyView(resource: Resource) {
  return { ...(resource.healthPolicy ?? defaultHealthPolicy), configured: resource.healthPolicy !== null };
}

export function coreView(resource: Resource) {
  return {
    id: resource.id,
    projectId: resource.project.id,
    environmentId: resource.environment.id,
    destinationId: null,
    name: resource.name,
    slug: resource.slug,
    kind: resource.kind,
    description: resource.description ?? null,
    createdAt: resource.createdAt.toISOString(),
    services: resource.services,
    // Filled by deployments (issue 6).
    deploymentCount: 0,
    lastDeploymentId: null,
    lastDeploymentStatus: null,
  };
}

const missing = { state: 'missing', displayValue: null, valueHash: null };
const notApplicable = { state: 'not-applicable', displayValue: null, valueHash: null };

/** What stops or weakens a deployment of this resource, as the seed's profile diagnostics. */
export function profileDiagnostics(resource: Resource) {
  const diagnostic = (d: {
    code: string;
    severity: string;
    message: string;
    section: string;
    field: string;
    blocks: boolean;
    command: string;
  }) => ({
    code: d.code,
    severity: d.severity,
    message: d.message,
    path: d.field,
    section: d.section,
    fieldPath: d.field,
    configKey: null,
    configExposure: null,
    configKind: 'deployment-strategy',
    configScope: 'resource',
    configSource: 'resource',
    comparison: 'resource-vs-entry-profile',
    resourceValue: missing,
    entryProfileValue: notApplicable,
    deploymentSnapshotValue: notApplicable,
    latestDeploymentId: null,
    configPointer: `/resources/${resource.id}/${d.section === 'source' ? 'source' : 'network-profile'}`,
    blocksDeploymentAdmission: d.blocks,
    suggestedCommand: d.command,
  });
  const found = [];
  if (resource.source === null) {
    found.push(
      diagnostic({
        code: 'resource_source_missing',
        severity: 'error',
        message: 'The resource has no source: a deployment needs an image to run.',
        section: 'source',
        field: 'source',
        blocks: true,
        command: 'resources.configure-source',
      }),
    );
  }
  if (resource.networkProfile === null && resource.services.some((s) => s.kind === 'web' || s.kind === 'api')) {
    found.push(
      diagnostic({
        code: 'resource_network_profile_missing',
        severity: 'warning',
        message:
          'The resource serves web traffic but has no internal port: it cannot be routed or health-checked over HTTP.',
        section: 'network',
        field: 'networkProfile.internalPort',
        blocks: false,
        command: 'resources.configure-network',
      }),
    );
  }
  return found;
}
