import type { Environment } from '../environments/entity.js';
import type { Project } from '../projects/entity.js';
import type { Resource } from '../resources/entity.js';
import type { HealthPolicy, NetworkProfile, RuntimeProfile, SourceProfile } from '../resources/profiles.js';
import type { Server } from '../servers/entity.js';
import type { Blocker, BlockerCode } from './admission.js';
import type { Deployment } from './entity.js';

/**
 * The plan preview's findings: each broken admission rule (`unsupportedReasons`, the deployment would be refused) and
 * each thing that would go wrong or surprise after admission (`warnings`), with the evidence and the way to fix it.
 */

/** A step that fixes a finding: a read (`query`) or a change (`command`), by its operation key. */
export interface FixStep {
  kind: 'query' | 'command';
  targetOperation: string;
  label: string;
  profileField: string | null;
  docsAnchor: string;
  safeByDefault: boolean;
}

/** One finding, in the seed's shape. */
export interface PlanFinding {
  code: string;
  reasonCode: string;
  category: 'blocked' | 'warning';
  phase: string;
  message: string;
  recommendation: string | null;
  evidence: { kind: string; label: string; value: string; source: string }[];
  fixPath: FixStep[];
  /** Always empty: Berth's admission rules have no override; a blocked deployment is fixed, never forced. */
  overridePath: FixStep[];
  affectedProfileField: string | null;
  relatedEntityId: string | null;
  relatedEntityType: string | null;
}

const refusals = 'docs/deployments.md#what-is-refused-each-with-the-envelope-and-the-way-out';
const lifecycle = 'docs/deployments.md#lifecycle';
const resourcesDoc = 'docs/resources.md';

const step = (
  kind: FixStep['kind'],
  targetOperation: string,
  label: string,
  extra: Partial<Pick<FixStep, 'profileField' | 'docsAnchor' | 'safeByDefault'>> = {},
): FixStep => ({
  kind,
  targetOperation,
  label,
  profileField: extra.profileField ?? null,
  docsAnchor: extra.docsAnchor ?? refusals,
  safeByDefault: extra.safeByDefault ?? kind === 'query',
});

/** What the plan saw when it checked the admission rules. */
export interface PlanContext {
  project: Project;
  environment: Environment;
  resource: Resource;
  server: Server;
  running: Deployment | null;
}

function fixOf(code: BlockerCode, c: PlanContext): FixStep[] {
  switch (code) {
    case 'project-archived':
      return [step('command', 'projects.restore', `POST /projects/${c.project.id}/restore`, { safeByDefault: true })];
    case 'environment-locked':
      return [step('command', 'environments.unlock', `POST /environments/${c.environment.id}/unlock`)];
    case 'environment-archived':
      return [step('command', 'environments.create', 'Create a new environment (POST /environments)')];
    case 'resource-archived':
      return [step('command', 'resources.create', 'Create a new resource (POST /resources)')];
    case 'resource-source-missing':
      return [
        step('command', 'resources.configure-source', `POST /resources/${c.resource.id}/source`, {
          profileField: 'source',
          safeByDefault: true,
        }),
      ];
    case 'server-deactivated':
      return [step('query', 'servers.list', 'Choose an active server (GET /servers)')];
    case 'server-unreachable':
      return [step('query', 'servers.show', `Check the agent (GET /servers/${c.server.id})`)];
    case 'deployment-in-progress': {
      const id = c.running?.id ?? '';
      return [
        step('query', 'deployments.stream-events', `Wait for it (GET /deployments/${id}/events/stream)`),
        step('command', 'deployments.cancel', `Cancel it (POST /deployments/${id}/cancel)`),
      ];
    }
  }
}

function evidenceOf(code: BlockerCode, c: PlanContext): PlanFinding['evidence'] {
  const fact = (kind: string, label: string, value: string) => [{ kind, label, value, source: kind }];
  switch (code) {
    case 'project-archived':
      return fact('project', 'lifecycleStatus', c.project.lifecycleStatus);
    case 'environment-locked':
    case 'environment-archived':
      return fact('environment', 'lifecycleStatus', c.environment.lifecycleStatus);
    case 'resource-archived':
      return fact('resource', 'lifecycleStatus', c.resource.lifecycleStatus);
    case 'resource-source-missing':
      return fact('resource', 'source', 'none');
    case 'server-deactivated':
      return fact('server', 'lifecycleStatus', c.server.lifecycleStatus);
    case 'server-unreachable':
      return fact('server', 'connectionState', c.server.connectionState);
    case 'deployment-in-progress':
      return fact('deployment', c.running?.id ?? 'deployment', c.running?.status ?? 'running');
  }
}

/** The admission rules the deployment breaks, as the seed's `unsupportedReasons`. */
export function blockedFindings(blockers: Blocker[], c: PlanContext): PlanFinding[] {
  return blockers.map((b) => ({
    code: b.reasonCode,
    reasonCode: b.reasonCode,
    category: 'blocked',
    phase: 'admission',
    message: b.error.message,
    recommendation: b.error.hint ?? null,
    evidence: evidenceOf(b.reasonCode, c),
    fixPath: fixOf(b.reasonCode, c),
    overridePath: [],
    affectedProfileField: b.reasonCode === 'resource-source-missing' ? 'source' : null,
    relatedEntityId: b.relatedEntityId,
    relatedEntityType: b.relatedEntityType,
  }));
}

/** The resource's effective profiles, as the deployment would freeze them. */
export interface PlanProfiles {
  source: SourceProfile | null;
  runtime: RuntimeProfile;
  network: NetworkProfile | null;
  health: HealthPolicy;
}

/** The container port the health check talks to: its own port, or the internal port (as the agent decides). */
export function healthCheckPort(health: HealthPolicy, network: NetworkProfile | null): number | null {
  const own = health.type === 'http' ? health.http?.port : health.tcp?.port;
  return own ?? network?.internalPort ?? null;
}

/** What the deployment would do that its owner may not expect; none of these is refused at admission. */
export function warningFindings(p: PlanProfiles, resource: Resource): PlanFinding[] {
  const warn = (
    code: string,
    phase: string,
    message: string,
    recommendation: string,
    evidence: PlanFinding['evidence'][number],
    fix: FixStep,
  ): PlanFinding => ({
    code,
    reasonCode: code,
    category: 'warning',
    phase,
    message,
    recommendation,
    evidence: [evidence],
    fixPath: [fix],
    overridePath: [],
    affectedProfileField: fix.profileField,
    relatedEntityId: resource.id,
    relatedEntityType: 'resource',
  });
  const found: PlanFinding[] = [];
  const network = step('command', 'resources.configure-network', `POST /resources/${resource.id}/network-profile`, {
    profileField: 'networkProfile.internalPort',
    docsAnchor: resourcesDoc,
    safeByDefault: true,
  });
  if (p.source !== null && p.source.imageDigest === null && (p.source.imageTag ?? 'latest') === 'latest') {
    found.push(
      warn(
        'image-tag-mutable',
        'image',
        `The image "${p.source.locator}" has no version tag: a server that already has an image under this name runs that copy without pulling, so a newer push under the same name is not picked up, and two servers may run different images under one name.`,
        'Pin a version tag or a digest, e.g. nginx:1.27 or nginx@sha256:….',
        { kind: 'source', label: 'locator', value: p.source.locator, source: 'resource.source' },
        step('command', 'resources.configure-source', `POST /resources/${resource.id}/source`, {
          profileField: 'source.locator',
          docsAnchor: lifecycle,
          safeByDefault: true,
        }),
      ),
    );
  }
  if (p.health.enabled && healthCheckPort(p.health, p.network) === null) {
    found.push(
      warn(
        'health-check-port-missing',
        'verify',
        `The ${p.health.type} health check has no port to check and the resource has no internal port: the deployment would end failed (unhealthy) while the running version keeps serving.`,
        'Set the internal port (network profile) or the health check port.',
        { kind: 'health-policy', label: 'port', value: 'none', source: 'resource.healthPolicy' },
        network,
      ),
    );
  }
  if (!p.health.enabled) {
    found.push(
      warn(
        'health-check-disabled',
        'verify',
        'The health check is disabled: verification only checks that the container keeps running for a moment.',
        'Enable an HTTP or TCP health check so a broken version never receives traffic.',
        { kind: 'health-policy', label: 'enabled', value: 'false', source: 'resource.healthPolicy' },
        step('command', 'resources.configure-health', `POST /resources/${resource.id}/health-policy`, {
          profileField: 'healthCheck.enabled',
          docsAnchor: lifecycle,
          safeByDefault: true,
        }),
      ),
    );
  }
  if (p.network === null) {
    found.push(
      warn(
        'access-route-missing',
        'access',
        'The resource has no internal port: the container runs, but no traffic is routed to it and it gets no access URL.',
        'Set the port the application listens on in the network profile.',
        { kind: 'network-profile', label: 'internalPort', value: 'none', source: 'resource.networkProfile' },
        network,
      ),
    );
  }
  if (p.runtime.startCommand !== null && (p.runtime.command !== null || p.runtime.arguments !== null)) {
    found.push(
      warn(
        'runtime-command-overridden',
        'start',
        'startCommand runs through /bin/sh -c and replaces the image ENTRYPOINT: the runtime profile’s command and arguments are not used.',
        'Keep either startCommand, or command and arguments.',
        {
          kind: 'runtime-profile',
          label: 'startCommand',
          value: p.runtime.startCommand,
          source: 'resource.runtimeProfile',
        },
        step('command', 'resources.configure-runtime', `POST /resources/${resource.id}/runtime-profile`, {
          profileField: 'runtimeProfile.startCommand',
          docsAnchor: resourcesDoc,
          safeByDefault: true,
        }),
      ),
    );
  }
  return found;
}
