import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainBinding } from '../../control-plane/modules/domain-bindings/entity.js';
import { newId } from '../../shared/ids.js';

/** Where a test binding row points. */
export interface BindingRowTarget {
  organizationId: string;
  projectId: string;
  environmentId: string;
  resourceId: string;
  serverId: string | null;
  domainName: string;
}

/**
 * Inserts a live domain binding as a row, for tests of modules that only need one to exist (the certificates); the
 * domain-bindings tests create theirs through the API.
 */
export async function insertBindingRow(
  em: EntityManager,
  target: BindingRowTarget,
  extra: Partial<Pick<DomainBinding, 'tlsMode' | 'certificatePolicy' | 'proxyKind'>> = {},
): Promise<string> {
  const at = new Date();
  const binding = em.create(DomainBinding, {
    id: newId('domainBinding'),
    organization: target.organizationId,
    project: target.projectId,
    environment: target.environmentId,
    resource: target.resourceId,
    server: target.serverId,
    domainName: target.domainName,
    domainKey: target.domainName,
    pathPrefix: '/',
    proxyKind: extra.proxyKind ?? 'caddy',
    tlsMode: extra.tlsMode ?? 'auto',
    certificatePolicy: extra.certificatePolicy ?? 'auto',
    redirectTo: null,
    redirectStatus: null,
    challengeToken: 'c'.repeat(43),
    ownershipVerifiedAt: null,
    verificationAttempts: [],
    dnsObservation: { status: 'pending', expectedTargets: [], observedTargets: [], checkedAt: null, message: null },
    createdAt: at,
    updatedAt: at,
  });
  await em.flush();
  return binding.id;
}
