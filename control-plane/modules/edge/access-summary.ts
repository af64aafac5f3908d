import type { EntityManager } from '@mikro-orm/postgresql';
import type { EdgeRoute } from '../../../shared/edge-command.js';
import { Deployment } from '../deployments/entity.js';
import { Server } from '../servers/entity.js';
import { type EdgePlan, generatedRouteId } from './plan.js';

/**
 * A resource's access summary (`includeAccessSummary`): the URLs it is reached at through the edge proxy of the server
 * it last deployed to, and whether that proxy serves the current edge document (`proxyRouteStatus`).
 */

const urlOf = (route: Pick<EdgeRoute, 'hostname' | 'pathPrefix' | 'tls'>) =>
  `${route.tls === 'none' ? 'http' : 'https'}://${route.hostname}${route.pathPrefix === '/' ? '' : route.pathPrefix}`;

function routeSummary(route: EdgeRoute, providerKey: string, proxyKind: string) {
  return {
    url: urlOf(route),
    hostname: route.hostname,
    scheme: route.tls === 'none' ? ('http' as const) : ('https' as const),
    providerKey,
    pathPrefix: route.pathPrefix,
    proxyKind,
    targetPort: route.targetPort,
  };
}

/** The public URL a resource answers at through the edge proxy (its first domain binding, else its generated name). */
export function publicUrlOf(plan: EdgePlan, resourceId: string): string | null {
  const routes = plan.document.routes.filter((r) => r.resourceId === resourceId && r.redirect === null);
  const bound = routes.find((r) => r.routeId !== generatedRouteId(resourceId));
  const chosen = bound ?? routes[0];
  return chosen ? urlOf(chosen) : null;
}

/**
 * Where users reach a resource just deployed to `serverId`: {@link publicUrlOf} while that server's edge proxy was last
 * seen serving (`ready`), else null (the deployment then names its direct URL: a name no proxy answers is no URL).
 */
export async function servedPublicUrl(
  em: EntityManager,
  serverId: string,
  resourceId: string,
  plan: (serverId: string) => Promise<EdgePlan>,
): Promise<string | null> {
  const server = await em.findOne(Server, serverId);
  if (server?.edgeStatus !== 'ready') return null;
  return publicUrlOf(await plan(serverId), resourceId);
}

/** Builds the summary; `plan` computes a server's edge plan. */
export async function accessSummaryOf(
  em: EntityManager,
  resourceId: string,
  plan: (serverId: string) => Promise<EdgePlan>,
) {
  const empty = {
    plannedGeneratedAccessRoute: null,
    latestGeneratedAccessRoute: null,
    latestDurableDomainRoute: null,
    latestServerAppliedDomainRoute: null,
    proxyRouteStatus: 'unknown' as const,
    lastRouteRealizationDeploymentId: null,
    latestAccessFailureDiagnostic: null,
  };
  const latest = await em.findOne(Deployment, { resource: resourceId }, { orderBy: { createdAt: 'desc' } });
  if (latest === null) return empty;
  const server = await em.findOneOrFail(Server, latest.server.id);
  const edge = await plan(server.id);
  const access = edge.generated.get(resourceId);
  const routes = edge.document.routes.filter((r) => r.resourceId === resourceId);
  const generated = routes.find((r) => r.routeId === generatedRouteId(resourceId));
  const bound = routes.find((r) => r.routeId !== generatedRouteId(resourceId) && r.redirect === null);
  const proxyKind = server.proxyKind;
  const applied =
    server.edgeStatus === 'ready' &&
    server.edgeDocumentHash === edge.hash &&
    server.edgeAppliedVersion >= server.edgeDocumentVersion;
  const proxyRouteStatus =
    routes.length === 0
      ? ('unknown' as const)
      : applied
        ? ('ready' as const)
        : server.edgeStatus === 'failed'
          ? ('failed' as const)
          : ('not-ready' as const);
  const providerKey = access?.hostname.kind === 'hostname' ? access.hostname.providerKey : 'caddy';
  const deployed = (route: EdgeRoute, key: string) => ({
    ...routeSummary(route, key, proxyKind),
    deploymentId: access?.deploymentId ?? latest.id,
    deploymentStatus: latest.status,
    updatedAt: (server.edgeLastSucceededAt ?? latest.updatedAt).toISOString(),
  });
  return {
    ...empty,
    plannedGeneratedAccessRoute: generated ? routeSummary(generated, providerKey, proxyKind) : null,
    latestGeneratedAccessRoute: generated && applied ? deployed(generated, providerKey) : null,
    latestDurableDomainRoute: bound ? deployed(bound, 'domain-binding') : null,
    latestServerAppliedDomainRoute: bound && applied ? deployed(bound, 'domain-binding') : null,
    proxyRouteStatus,
    lastRouteRealizationDeploymentId: applied ? (access?.deploymentId ?? null) : null,
  };
}
