import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EdgeRoute, EdgeSyncQueued } from '../../../shared/edge-command.js';
import { DefaultAccessPolicy } from '../access-policies/entity.js';
import { Resource } from '../resources/entity.js';
import { desiredStateOf } from '../runtime/desired-state.js';
import { Server } from '../servers/entity.js';
import {
  defaultGeneratedAccessPolicy,
  type GeneratedAccessPolicy,
  type GeneratedHostname,
  generatedHostname,
} from './generated-access.js';
import type { EdgeRouteSource } from './ports.js';

/**
 * The edge plan of a server: what its Caddy must serve, computed from the stored desired state only (the resources
 * running there, their network and access profiles, the default access policies, the domain bindings). The same
 * plan feeds the `edge.sync` document, the access summaries and the planned side of the proxy configuration.
 */

/** The generated access of one resource on the server, served or not (and why not). */
export interface GeneratedAccess {
  resourceId: string;
  deploymentId: string;
  targetPort: number;
  pathPrefix: string;
  exposureMode: 'reverse-proxy' | 'direct-port' | 'none';
  hostname: GeneratedHostname;
}

/** A server's edge plan. */
export interface EdgePlan {
  serverId: string;
  document: Omit<EdgeSyncQueued, 'version'>;
  /** SHA-256 of the document: equal plans give equal hashes, whatever order the rows were read in. */
  hash: string;
  generated: Map<string, GeneratedAccess>;
}

/** The route id of a resource's generated route: derived from its id, so it never changes across deployments. */
export const generatedRouteId = (resourceId: string) => `gen-${resourceId}`;

const byRouteId = (a: { routeId: string }, b: { routeId: string }) => (a.routeId < b.routeId ? -1 : 1);

/** The policy that applies to `server`: its own, else its organization's system policy, else Berth's default. */
async function policyFor(em: EntityManager, server: Server): Promise<GeneratedAccessPolicy> {
  const policies = await em.find(DefaultAccessPolicy, {
    organization: server.organization.id,
    scopeKey: { $in: ['system', `deployment-target:${server.id}`] },
  });
  const chosen = policies.find((p) => p.scopeKey !== 'system') ?? policies[0];
  if (!chosen) return defaultGeneratedAccessPolicy;
  return { mode: chosen.mode, providerKey: chosen.providerKey ?? null, templateRef: chosen.templateRef ?? null };
}

/** Computes the edge plan of `serverId`. */
export async function planEdge(em: EntityManager, serverId: string, source: EdgeRouteSource | null): Promise<EdgePlan> {
  const server = await em.findOneOrFail(Server, serverId);
  const desired = await desiredStateOf(em, serverId);
  const running = (desired?.document.runtimes ?? []).filter((r) => r.state === 'running' && r.internalPort !== null);
  const resources = await em.find(
    Resource,
    { id: { $in: running.map((r) => r.resourceId) } },
    { populate: ['project', 'environment'] },
  );
  const byId = new Map(resources.map((r) => [r.id, r]));
  const policy = await policyFor(em, server);
  const generated = new Map<string, GeneratedAccess>();
  const routes: EdgeRoute[] = [];
  for (const runtime of running) {
    const resource = byId.get(runtime.resourceId);
    if (resource?.lifecycleStatus !== 'active') continue;
    const exposureMode = resource.networkProfile?.exposureMode ?? 'reverse-proxy';
    const pathPrefix = resource.accessProfile?.pathPrefix || '/';
    const hostname: GeneratedHostname =
      resource.accessProfile?.generatedAccessMode === 'disabled'
        ? { kind: 'disabled' }
        : generatedHostname(policy, {
            resourceId: resource.id,
            resourceSlug: resource.slug,
            environmentName: resource.environment.getEntity().name,
            projectSlug: resource.project.getEntity().slug,
            serverHost: server.host,
          });
    const targetPort = runtime.internalPort as number;
    generated.set(resource.id, {
      resourceId: resource.id,
      deploymentId: runtime.deploymentId,
      targetPort,
      pathPrefix,
      exposureMode,
      hostname,
    });
    if (exposureMode !== 'reverse-proxy' || hostname.kind !== 'hostname') continue;
    routes.push({
      routeId: generatedRouteId(resource.id),
      hostname: hostname.hostname,
      pathPrefix,
      resourceId: resource.id,
      targetPort,
      // Generated names are for reaching an app at once: served over HTTP, as Coolify's sslip names are. A domain
      // binding gets a certificate.
      tls: 'none',
      redirect: null,
    });
  }
  const bound: Awaited<ReturnType<EdgeRouteSource['edgeOf']>> =
    source === null ? { routes: [], certificates: [] } : await source.edgeOf(em, serverId);
  const ports = new Map(running.map((r) => [r.resourceId, r.internalPort as number]));
  for (const route of bound.routes) {
    const targetPort = ports.get(route.resourceId);
    if (targetPort === undefined) continue; // not running here: nothing to send traffic to
    const exposureMode = byId.get(route.resourceId)?.networkProfile?.exposureMode ?? 'reverse-proxy';
    if (exposureMode !== 'reverse-proxy') continue;
    routes.push({ ...route, targetPort });
  }
  const proxyKind = server.proxyKind === 'caddy' ? ('caddy' as const) : ('none' as const);
  const document = {
    proxyKind,
    routes: proxyKind === 'caddy' ? routes.sort(byRouteId) : [],
    certificates:
      proxyKind === 'caddy' ? [...bound.certificates].sort((a, b) => (a.certificateId < b.certificateId ? -1 : 1)) : [],
  };
  const hash = createHash('sha256').update(JSON.stringify(document)).digest('hex');
  return { serverId, document, hash, generated };
}
