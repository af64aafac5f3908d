import type { EntityManager } from '@mikro-orm/postgresql';
import type { EdgeInspectResult, EdgeRoute, ServedRoute } from '../../../shared/edge-command.js';
import type { Clock } from '../../../shared/time.js';
import { Deployment } from '../deployments/entity.js';
import { type EdgePlan, generatedRouteId } from './plan.js';
import type { EdgeInspector } from './ports.js';

/**
 * `GET /resources/{id}/proxy-configuration`: what Caddy serves for a resource, read back from Caddy (routes,
 * upstream names and what they resolve to now, the certificate served on the TLS port), next to what Berth planned.
 * `routeScope=planned` (and `deployment-snapshot`) shows the plan only; `latest` asks the agent.
 */

export type RouteScope = 'planned' | 'latest' | 'deployment-snapshot';

interface RouteView {
  hostname: string;
  scheme: 'http' | 'https';
  url: string;
  pathPrefix: string;
  tlsMode: 'auto' | 'disabled';
  targetPort: number | null;
  source: 'generated-default' | 'domain-binding' | 'deployment-snapshot' | 'server-applied';
  routeBehavior: 'serve' | 'redirect';
  redirectTo: string | null;
  redirectStatus: number | null;
  appliedRouteContext: Record<string, unknown> | null;
}

const urlOf = (scheme: string, hostname: string, pathPrefix: string) =>
  `${scheme}://${hostname}${pathPrefix === '/' ? '' : pathPrefix}`;

const sourceOf = (resourceId: string, routeId: string) =>
  routeId === generatedRouteId(resourceId) ? ('generated-default' as const) : ('domain-binding' as const);

function plannedView(route: EdgeRoute): RouteView {
  const scheme = route.tls === 'none' ? 'http' : 'https';
  return {
    hostname: route.hostname,
    scheme,
    url: urlOf(scheme, route.hostname, route.pathPrefix),
    pathPrefix: route.pathPrefix,
    tlsMode: route.tls === 'none' ? 'disabled' : 'auto',
    targetPort: route.targetPort,
    source: sourceOf(route.resourceId, route.routeId),
    routeBehavior: route.redirect ? 'redirect' : 'serve',
    redirectTo: route.redirect ? `https://${route.redirect.to}` : null,
    redirectStatus: route.redirect?.status ?? null,
    appliedRouteContext: null,
  };
}

function servedView(
  route: ServedRoute,
  context: { resourceId: string; deploymentId: string | null; serverId: string; observedAt: string },
  planned: EdgeRoute | undefined,
): RouteView {
  return {
    hostname: route.hostname,
    scheme: route.scheme,
    url: urlOf(route.scheme, route.hostname, route.pathPrefix),
    pathPrefix: route.pathPrefix,
    tlsMode: route.scheme === 'https' || planned?.tls !== 'none' ? 'auto' : 'disabled',
    targetPort: route.upstreamPort,
    source: 'server-applied',
    routeBehavior: route.behavior,
    redirectTo: route.redirectTo,
    redirectStatus: route.redirectStatus,
    appliedRouteContext: {
      schemaVersion: 'applied-route-context/v1',
      resourceId: context.resourceId,
      deploymentId: context.deploymentId,
      domainBindingId:
        planned && sourceOf(context.resourceId, planned.routeId) === 'domain-binding' ? planned.routeId : null,
      serverId: context.serverId,
      destinationId: null,
      routeId: route.routeId,
      diagnosticId: null,
      routeSource: planned ? sourceOf(context.resourceId, planned.routeId) : 'server-applied',
      hostname: route.hostname,
      pathPrefix: route.pathPrefix,
      proxyKind: 'caddy',
      providerKey: 'caddy',
      appliedAt: null,
      observedAt: context.observedAt,
      upstreamName: route.upstreamName,
      resolvedUpstream: route.resolvedUpstream,
    },
  };
}

/** Whether what Caddy serves for the resource is exactly what was planned (host, path, port). */
function matches(planned: EdgeRoute[], served: ServedRoute[]): boolean {
  const key = (host: string, prefix: string, port: number | null) => `${host}|${prefix}|${port}`;
  const want = new Set(planned.map((r) => key(r.hostname, r.pathPrefix, r.targetPort)));
  const have = new Set(
    served.filter((r) => r.behavior === 'serve').map((r) => key(r.hostname, r.pathPrefix, r.upstreamPort)),
  );
  return want.size === have.size && [...want].every((k) => have.has(k));
}

/** Builds the proxy-configuration read model. */
export async function proxyConfiguration(
  em: EntityManager,
  input: {
    resourceId: string;
    routeScope: RouteScope;
    includeDiagnostics: boolean;
    deploymentId: string | undefined;
    plan: (serverId: string) => Promise<EdgePlan>;
    inspector: EdgeInspector;
    now: Clock;
  },
) {
  const { resourceId, routeScope } = input;
  const generatedAt = input.now().toISOString();
  const latest = await em.findOne(
    Deployment,
    input.deploymentId ? { id: input.deploymentId, resource: resourceId } : { resource: resourceId },
    { orderBy: { createdAt: 'desc' } },
  );
  const base = {
    resourceId,
    deploymentId: latest?.id ?? null,
    providerKey: 'caddy',
    routeScope,
    generatedAt,
  };
  const warnings: Array<{ code: string; message: string; details: Record<string, string> }> = [];
  if (latest === null) {
    return {
      ...base,
      status: 'not-configured' as const,
      lastAppliedDeploymentId: null,
      stale: false,
      routes: [],
      sections: [],
      warnings: [{ code: 'resource_not_deployed', message: 'The resource has no deployment yet.', details: {} }],
      diagnostics: input.includeDiagnostics ? { providerKey: 'caddy', routeCount: 0, networkName: 'berth' } : null,
    };
  }
  const serverId = latest.server.id;
  const plan = await input.plan(serverId);
  const planned = plan.document.routes.filter((r) => r.resourceId === resourceId);
  const access = plan.generated.get(resourceId);
  if (access?.hostname.kind === 'unavailable') {
    warnings.push({ code: access.hostname.code, message: access.hostname.message, details: {} });
  }
  if (access && access.exposureMode !== 'reverse-proxy') {
    warnings.push({
      code: 'exposure_not_proxied',
      message: `The resource's exposure mode is "${access.exposureMode}": Caddy serves no route for it.`,
      details: {},
    });
  }
  let routes = planned.map(plannedView);
  let status: 'not-configured' | 'planned' | 'applied' | 'stale' | 'failed' =
    planned.length === 0 ? 'not-configured' : 'planned';
  let stale = false;
  let observed: EdgeInspectResult | null = null;
  if (routeScope === 'latest') {
    const hostnames = [...new Set(planned.filter((r) => r.tls !== 'none').map((r) => r.hostname))];
    const answer = await input.inspector.inspect(serverId, { resourceIds: [resourceId], tlsHostnames: hostnames });
    if (!answer.ok || !answer.result.reachable) {
      const message = answer.ok ? answer.result.error : answer.message;
      warnings.push({ code: answer.ok ? 'proxy_unavailable' : answer.code, message, details: { serverId } });
      status = 'failed';
      stale = true;
    } else {
      observed = answer.result;
      const served = observed.routes.filter((r) => r.resourceId === resourceId);
      const context = {
        resourceId,
        deploymentId: access?.deploymentId ?? null,
        serverId,
        observedAt: observed.observedAt,
      };
      routes = served.map((r) =>
        servedView(
          r,
          context,
          planned.find((p) => r.routeId === p.routeId),
        ),
      );
      stale = !matches(planned, served);
      status = served.length === 0 && planned.length === 0 ? 'not-configured' : stale ? 'stale' : 'applied';
    }
  }
  const tlsRoutes = (observed?.certificates ?? []).map((c) => ({
    hostname: c.hostname,
    pathPrefix: '/',
    tlsMode: 'auto' as const,
    scheme: 'https' as const,
    automation: 'provider-local' as const,
    certificateSource: c.served ? ('provider-local' as const) : ('none' as const),
    appaloftCertificateManaged: false,
    message: c.served ? `Served by ${c.issuer ?? 'an unknown issuer'} until ${c.notAfter}.` : c.error,
    details: {
      issuer: c.issuer ?? '',
      serialNumber: c.serialNumber ?? '',
      notAfter: c.notAfter ?? '',
      fingerprint: c.fingerprint ?? '',
    },
  }));
  return {
    ...base,
    status,
    lastAppliedDeploymentId: status === 'applied' ? (access?.deploymentId ?? null) : null,
    stale,
    routes,
    sections: [
      {
        id: observed ? 'caddy-served-routes' : 'caddy-planned-routes',
        title: observed ? 'Routes Caddy serves now (read back from its admin API)' : 'Routes Berth plans for Caddy',
        format: 'json' as const,
        language: 'json',
        readonly: true as const,
        redacted: false,
        content: JSON.stringify(
          observed ? observed.routes.filter((r) => r.resourceId === resourceId) : planned,
          null,
          2,
        ),
        source: observed ? ('provider-rendered' as const) : ('snapshot' as const),
      },
    ],
    warnings,
    diagnostics: input.includeDiagnostics
      ? {
          providerKey: 'caddy',
          routeCount: routes.length,
          networkName: 'berth',
          tlsRoutes,
          appliedRouteContexts: routes.flatMap((r) => (r.appliedRouteContext ? [r.appliedRouteContext] : [])),
          metadata: {
            appliedVersion: String(observed?.appliedVersion ?? ''),
            foreignRouteCount: String(observed?.foreignRouteCount ?? ''),
          },
        }
      : null,
  };
}
