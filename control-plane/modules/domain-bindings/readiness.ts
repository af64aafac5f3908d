import type { EntityManager } from '@mikro-orm/postgresql';
import type { Certificate } from '../certificates/entity.js';
import { currentCertificate } from '../certificates/views.js';
import { Deployment } from '../deployments/entity.js';
import type { EdgePlan } from '../edge/plan.js';
import { Server } from '../servers/entity.js';
import { edgeStatusOf } from '../servers/view.js';
import type { DomainBinding } from './entity.js';
import { edgeTlsOf, tlsOff } from './views.js';

/** Computes a server's edge plan (the edge module's `plan`), or null when there is no edge module. */
export type PlanEdge = ((em: EntityManager, serverId: string) => Promise<EdgePlan>) | null;

type Applied = 'not-configured' | 'planned' | 'applied' | 'failed';

const recommended: Record<string, string> = {
  runtime_not_ready: 'check-health',
  proxy_route_missing: 'repair-proxy',
  domain_not_verified: 'verify-domain',
  certificate_missing: 'provide-certificate',
  certificate_expired_or_not_active: 'provide-certificate',
  dns_points_elsewhere: 'fix-dns',
};

function tlsState(binding: DomainBinding, certificates: Certificate[]): string {
  if (tlsOff(binding)) return 'disabled';
  const current = currentCertificate(certificates);
  if (!current) return edgeTlsOf(binding, certificates) === 'acme' ? 'pending' : 'missing';
  if (current.status === 'active') return 'active';
  if (current.status === 'expired') return 'expired';
  if (current.status === 'failed') return 'failed';
  if (['pending', 'issuing', 'renewing'].includes(current.status)) return 'pending';
  return 'missing';
}

/**
 * The binding's route readiness, generated-access fallback and proxy readiness, from the edge plan of the server
 * that serves it (what Berth publishes) and that server's edge status (what its agent last reported applying).
 */
export async function readinessOf(
  em: EntityManager,
  binding: DomainBinding,
  certificates: Certificate[],
  serverId: string | null,
  plan: PlanEdge,
) {
  const server = serverId ? await em.findOne(Server, serverId) : null;
  const edgePlan = server && plan ? await plan(em, server.id) : null;
  const routed = edgePlan?.document.routes.some((r) => r.routeId === binding.id) ?? false;
  const generated = edgePlan?.generated.get(binding.resource.id) ?? null;
  const edgeStatus = server ? edgeStatusOf(server) : null;
  let applied: Applied = 'not-configured';
  if (routed && server) {
    const current = server.edgeDocumentHash === edgePlan?.hash;
    if (edgeStatus === 'failed') applied = 'failed';
    else if (current && edgeStatus === 'ready' && server.edgeAppliedVersion >= server.edgeDocumentVersion)
      applied = 'applied';
    else applied = 'planned';
  }
  const tls = tlsState(binding, certificates);
  const verified = binding.ownershipVerifiedAt != null;
  const lastOutcome = binding.verificationAttempts.at(-1)?.outcome;
  let blockingReason: string | null = null;
  if (!generated) blockingReason = 'runtime_not_ready';
  else if (applied !== 'applied') blockingReason = 'proxy_route_missing';
  else if (tls === 'missing') blockingReason = 'certificate_missing';
  else if (tls === 'expired' || tls === 'failed') blockingReason = 'certificate_expired_or_not_active';
  else if (binding.dnsObservation.status === 'mismatch') blockingReason = 'dns_points_elsewhere';
  else if (!verified) blockingReason = 'domain_not_verified';
  const https = edgeTlsOf(binding, certificates) !== 'none';
  const status = binding.deletedAt
    ? 'deleted'
    : applied === 'applied'
      ? 'ready'
      : applied === 'failed'
        ? 'failed'
        : applied === 'planned'
          ? 'pending'
          : 'not-ready';
  const descriptor = {
    schemaVersion: 'route-intent-status/v1',
    routeId: binding.id,
    diagnosticId: `diag-${binding.id}`,
    source: 'durable-domain-binding',
    intent: {
      host: binding.domainName,
      pathPrefix: binding.pathPrefix,
      protocol: https ? 'https' : 'http',
      routeBehavior: binding.redirectTo ? 'redirect' : 'serve',
      redirectTo: binding.redirectTo ?? null,
      redirectStatus: binding.redirectStatus ?? null,
    },
    context: {
      resourceId: binding.resource.id,
      deploymentId: generated?.deploymentId ?? null,
      serverId: server?.id ?? null,
      destinationId: null,
      runtimeTargetKind: 'single-server',
    },
    proxy: { intent: binding.proxyKind === 'caddy' ? 'required' : 'not-required', applied, providerKey: 'caddy' },
    domainVerification: verified ? 'verified' : lastOutcome && lastOutcome !== 'not_found' ? 'failed' : 'pending',
    tls,
    // Whether the container answers its health check is the health read's business; here only whether it runs.
    runtimeHealth: generated ? 'unknown' : 'not-deployed',
    latestObservation: {
      source: 'resource-access-summary',
      observedAt: server?.edgeObservedAt?.toISOString() ?? null,
      requestId: null,
      deploymentId: generated?.deploymentId ?? null,
    },
    blockingReason,
    recommendedAction: blockingReason ? (recommended[blockingReason] ?? 'diagnostic-summary') : 'none',
    copySafeSummary: {
      status: status === 'ready' ? 'available' : status === 'failed' ? 'failed' : 'not-ready',
      code: blockingReason,
      phase: blockingReason ? 'route-readiness' : null,
      message: blockingReason
        ? `https://${binding.domainName}${binding.pathPrefix} is not fully ready: ${blockingReason}.`
        : `${https ? 'https' : 'http'}://${binding.domainName}${binding.pathPrefix} is served.`,
    },
  };
  let fallback = null;
  if (generated?.hostname.kind === 'hostname' && server) {
    const deployment = await em.findOne(Deployment, generated.deploymentId);
    fallback = {
      url: `http://${generated.hostname.hostname}${generated.pathPrefix}`,
      hostname: generated.hostname.hostname,
      scheme: 'http',
      providerKey: generated.hostname.providerKey,
      deploymentId: generated.deploymentId,
      deploymentStatus: deployment?.status ?? 'succeeded',
      pathPrefix: generated.pathPrefix,
      proxyKind: server.proxyKind,
      targetPort: generated.targetPort,
      updatedAt: (deployment?.updatedAt ?? server.updatedAt).toISOString(),
    };
  }
  const proxyReadiness =
    edgeStatus === 'ready' ? 'ready' : edgeStatus === 'failed' ? 'failed' : edgeStatus ? 'not-ready' : 'unknown';
  return {
    routeReadiness: {
      status,
      routeBehavior: descriptor.intent.routeBehavior,
      selectedRoute: descriptor,
      contextRoutes: [descriptor],
    },
    generatedAccessFallback: fallback,
    proxyReadiness,
  };
}
