import { readFileSync } from 'node:fs';

/** One endpoint of seed 001, as copied into the fixture. */
export interface SeedEndpoint {
  method: string;
  path: string;
  query: string[];
  body_example: unknown;
  response_example: unknown;
}

export const seed: SeedEndpoint[] = JSON.parse(
  readFileSync(new URL('../../fixtures/seed-001-endpoints.json', import.meta.url), 'utf8'),
);
export const seedByKey = new Map(seed.map((e) => [`${e.method} ${e.path}`, e]));

/** `/projects/:projectId` and `/projects/{projectId}` both become the seed's `/projects/{projectId}`. */
export function seedPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The `METHOD /path` keys of an OpenAPI document's operations, with paths spelled as the seed spells them. */
export function documentedOperations(doc: { paths: Record<string, Record<string, unknown>> }): Set<string> {
  return new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${seedPath(path)}`),
    ),
  );
}

/** The seed's deployment event envelope, which every frame of Berth's event streams must match. */
export const envelopeExample = (
  seedByKey.get('GET /deployments/{deploymentId}/events')!.response_example as { envelopes: unknown[] }
).envelopes[0];

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Where `actual` departs from the shape of the seed's `example`, as JSON paths: every example key must be present
 * with the same type (null allowed for example strings and numbers; a `schemaVersion` must be equal), arrays are
 * compared by their first items, and extra keys in `actual` are fine.
 */
export function shapeMismatches(example: unknown, actual: unknown, path = '$', key = ''): string[] {
  const expected = kindOf(example);
  // The seed renders a free-form map (additionalProperties) as an object with keys property1, property2.
  if (expected === 'object' && Object.keys(example as object).join() === 'property1,property2') {
    return kindOf(actual) === 'object' ? [] : [`${path}: expected a map, got ${kindOf(actual)}`];
  }
  const got = kindOf(actual);
  if (expected === 'null') return [];
  if (expected === 'object' && got === 'null' && nullUntilLaterModules.has(path)) return [];
  if (expected === 'string' || expected === 'number') {
    if (got === 'null') return [];
    if (got !== expected) return [`${path}: expected ${expected}, got ${got}`];
    if (key === 'schemaVersion' && actual !== example) {
      return [`${path}: expected ${JSON.stringify(example)}, got ${JSON.stringify(actual)}`];
    }
    return [];
  }
  if (got !== expected) return [`${path}: expected ${expected}, got ${got}`];
  if (expected === 'array') {
    const [first] = example as unknown[];
    if (first === undefined) return [];
    const items = actual as unknown[];
    if (items.length === 0 && (emptyUntilLaterModules.has(path) || emptyByNature.has(key))) return [];
    if (items.length === 0) return [`${path}: empty, so its items cannot be compared with the seed's`];
    return shapeMismatches(first, items[0], `${path}[0]`);
  }
  if (expected === 'object') {
    const target = actual as Record<string, unknown>;
    return Object.entries(example as Record<string, unknown>).flatMap(([name, value]) =>
      name in target ? shapeMismatches(value, target[name], `${path}.${name}`, name) : [`${path}.${name}: missing`],
    );
  }
  return [];
}

/** Lists that stay empty until the module that fills them exists (deployments, domains, storage). */
const emptyUntilLaterModules = new Set([
  '$.rollups.resources.deployedResourceIds',
  '$.rollups.domains.statusCounts',
  '$.storageAttachments',
  // A fully configured resource has nothing to diagnose.
  '$.diagnostics',
  // No value is hidden by another layer in the scenario's configuration.
  '$.overrides',
  // Berth keeps no source workspaces until it builds from source.
  '$.appaloftWorkspaces',
  // Route intents come with the access-failure evidence (not built yet; docs/monitoring.md).
  '$.access.routeIntentStatuses',
]);

/**
 * Lists (by field name) that are empty for a deployment of a prebuilt image with no dependencies, routes with no
 * domains yet, and a read with nothing blocked or failing.
 */
const emptyByNature = new Set([
  'dependencyBindingReferences',
  'references',
  'domains',
  'detectedFiles',
  'detectedScripts',
  'blockedReasonCodes',
  'sectionErrors',
  // A proxy configuration served as planned has nothing to warn about; HTTP-only routes have no TLS state.
  'warnings',
  'tlsRoutes',
  'sourceErrors',
  // Berth's admission rules have no override: a blocked deployment is fixed, never forced.
  'overridePath',
]);

/** Sections that are null, truthfully, until the module that fills them exists (deployments, routes, auto-deploy). */
const nullUntilLaterModules = new Set([
  '$.autoDeployPolicy',
  '$.accessSummary',
  // A resource not deployed yet has no route; one without a domain binding has no durable route.
  '$.accessSummary.plannedGeneratedAccessRoute',
  '$.accessSummary.latestGeneratedAccessRoute',
  '$.accessSummary.latestDurableDomainRoute',
  '$.accessSummary.latestServerAppliedDomainRoute',
  '$.accessSummary.latestAccessFailureDiagnostic',
  '$.latestDeployment',
  '$.items[0].latestRuntimeControl',
  '$.items[0].accessSummary',
  // A deployment that succeeded has no error to show.
  '$.latestDeployment.lastError',
  // Route intents and access-failure evidence come with the edge-proxy work.
  '$.publicAccess.routeIntentStatus',
  '$.publicAccess.latestAccessFailure',
  // A diagnostic summary of a deployment that succeeded; access-failure evidence is not built yet.
  '$.deployment.lastError',
  '$.access.latestAccessFailure',
  '$.access.selectedRoute',
  // The same, in the health summary each health-history observation keeps.
  '$.observations[0].summary.latestDeployment.lastError',
  '$.observations[0].summary.publicAccess.routeIntentStatus',
  '$.observations[0].summary.publicAccess.latestAccessFailure',
  // A prebuilt image is not built, so a plan selects no buildpack until source builds exist.
  '$.buildpack',
]);
