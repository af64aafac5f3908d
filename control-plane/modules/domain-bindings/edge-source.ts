import type { EntityManager } from '@mikro-orm/postgresql';
import type { KeyRing } from '../../secrets/key-ring.js';
import { Certificate } from '../certificates/entity.js';
import { importedEdgeCertificate } from '../certificates/views.js';
import type { BindingEdgeRoute, EdgeCertificateRef, EdgeRouteSource } from '../edge/ports.js';
import { ServerDesiredState } from '../runtime/entity.js';
import { Server } from '../servers/entity.js';
import { DomainBinding } from './entity.js';
import { edgeTlsOf } from './views.js';

/**
 * The servers `binding` is served on: the server it names, else every server of its organization whose desired
 * state runs its resource (one at most today: a deployment moves a resource's runtime, it never copies it). Empty
 * while the resource runs nowhere. Sorted, so callers publish in a stable order.
 */
export async function bindingServerIds(em: EntityManager, binding: DomainBinding): Promise<string[]> {
  if (binding.server) return [binding.server.id];
  const states = await em.find(ServerDesiredState, { server: { organization: binding.organization.id } });
  return states
    .filter((s) => s.document.runtimes.some((r) => r.resourceId === binding.resource.id))
    .map((s) => s.server.id)
    .sort();
}

/** The route of one binding as the edge document states it (the edge module adds the container port). */
export function bindingRoute(binding: DomainBinding, certificates: Certificate[]): BindingEdgeRoute {
  return {
    routeId: binding.id,
    hostname: binding.domainName,
    pathPrefix: binding.pathPrefix,
    resourceId: binding.resource.id,
    tls: edgeTlsOf(binding, certificates),
    redirect: binding.redirectTo ? { to: binding.redirectTo, status: redirectStatusOf(binding) } : null,
  };
}

/** A redirect without a stated status is permanent and keeps the method (308). */
const redirectStatusOf = (binding: DomainBinding): 301 | 302 | 307 | 308 =>
  (binding.redirectStatus as 301 | 302 | 307 | 308 | null | undefined) ?? 308;

/**
 * The domain bindings' side of the edge document ({@link EdgeRouteSource}): for a server, the live `caddy` bindings
 * whose resource's runtime is in that server's desired state (and that name that server or none), with their TLS
 * mode and the active imported certificates they are served with. Whether the runtime is running, and on which
 * container port, is the edge plan's business (plan.ts drops a route with nothing to send traffic to).
 */
export function createBindingEdgeSource(options: { keyRing: Pick<KeyRing, 'open'> }): EdgeRouteSource {
  const { keyRing } = options;
  return {
    async edgeOf(em, serverId) {
      const server = await em.findOne(Server, serverId);
      const state = await em.findOne(ServerDesiredState, { server: serverId });
      const resourceIds = [...new Set((state?.document.runtimes ?? []).map((r) => r.resourceId))];
      if (server === null || resourceIds.length === 0) return { routes: [], certificates: [] };
      const bindings = await em.find(
        DomainBinding,
        {
          organization: server.organization.id,
          resource: { $in: resourceIds },
          deletedAt: null,
          proxyKind: 'caddy',
          $or: [{ server: null }, { server: serverId }],
        },
        { orderBy: { id: 'asc' } },
      );
      if (bindings.length === 0) return { routes: [], certificates: [] };
      const certificates = await em.find(Certificate, {
        domainBinding: { $in: bindings.map((b) => b.id) },
        deletedAt: null,
      });
      const routes: BindingEdgeRoute[] = [];
      const served: EdgeCertificateRef[] = [];
      for (const binding of bindings) {
        const own = certificates.filter((c) => c.domainBinding.id === binding.id);
        const route = bindingRoute(binding, own);
        routes.push(route);
        const imported = route.tls === 'imported' ? importedEdgeCertificate(own) : null;
        if (imported) served.push(imported);
      }
      return { routes, certificates: served };
    },

    async privateKeyOf(em, certificateId) {
      const certificate = await em.findOne(Certificate, {
        id: certificateId,
        source: 'imported',
        status: 'active',
        deletedAt: null,
      });
      if (!certificate?.sealedPrivateKey) return null;
      return keyRing.open(certificate.sealedPrivateKey);
    },
  };
}
