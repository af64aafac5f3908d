import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Environment } from '../environments/entity.js';
import { Organization } from '../identity/entity.js';
import { Project } from '../projects/entity.js';
import { Resource } from '../resources/entity.js';
import { Server } from '../servers/entity.js';

/** Proxies a binding can name (seed `proxyKind`); Berth routes `caddy` bindings only. */
export const bindingProxyKinds = ['none', 'traefik', 'caddy'] as const;
/** Whether the binding is served over TLS (seed `tlsMode`). */
export const bindingTlsModes = ['auto', 'disabled'] as const;
/** Where the binding's certificate comes from (seed `certificatePolicy`). */
export const certificatePolicies = ['auto', 'manual', 'disabled'] as const;
/** The redirect statuses a binding may answer with. */
export const redirectStatuses = [301, 302, 307, 308] as const;
/** Ways to prove control of a domain (docs/domains.md). */
export const ownershipMethods = ['dns-txt', 'http-token'] as const;
export type OwnershipMethod = (typeof ownershipMethods)[number];
/** Outcomes of one ownership check. */
export const ownershipOutcomes = ['verified', 'not_found', 'mismatch', 'lookup_failed'] as const;

/** One ownership check, kept on the binding (newest last). */
export interface VerificationAttempt {
  id: string;
  method: OwnershipMethod;
  outcome: (typeof ownershipOutcomes)[number];
  /** What was looked at (`TXT _berth-challenge.<domain>`, `GET http://<domain>/.well-known/…`). */
  target: string;
  /** What was found (TXT values, the first bytes of the HTTP answer), or why nothing was. */
  evidence: string;
  message: string;
  checkedAt: string;
}

/** What the domain resolves to, compared with the server it should point at (seed `dnsObservation`). */
export interface DnsObservation {
  status: 'pending' | 'matched' | 'mismatch' | 'unresolved' | 'lookup_failed' | 'skipped';
  expectedTargets: string[];
  observedTargets: string[];
  checkedAt: string | null;
  message: string | null;
}

/**
 * A custom domain (and path prefix) routed to a resource by the edge proxy of its server. A deleted binding keeps
 * its row (history, certificates) with `domainKey` cleared, so the same domain can be bound again.
 */
export const DomainBinding = defineEntity({
  name: 'DomainBinding',
  tableName: 'domain_bindings',
  indexes: [{ properties: ['organization', 'createdAt'] }, { properties: ['resource'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    project: () => p.manyToOne(Project).ref().deleteRule('cascade'),
    environment: () => p.manyToOne(Environment).ref().deleteRule('cascade'),
    resource: () => p.manyToOne(Resource).ref().deleteRule('cascade'),
    // Null: wherever the resource runs.
    server: () => p.manyToOne(Server).ref().nullable().deleteRule('set null'),
    domainName: p.string().length(253),
    // The domain while the binding is live: one live binding per domain in the whole instance.
    domainKey: p.string().length(253).nullable().unique(),
    pathPrefix: p.string().length(200),
    proxyKind: p.enum([...bindingProxyKinds]),
    tlsMode: p.enum([...bindingTlsModes]),
    certificatePolicy: p.enum([...certificatePolicies]),
    redirectTo: p.string().length(253).nullable(),
    redirectStatus: p.integer().nullable(),
    // The value the TXT record or HTTP token must carry; random, shown to the caller.
    challengeToken: p.string().length(64),
    ownershipVerifiedAt: p.datetime().nullable(),
    verificationAttempts: p.json<VerificationAttempt[]>(),
    dnsObservation: p.json<DnsObservation>(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    deletedAt: p.datetime().nullable(),
  },
});
export type DomainBinding = InferEntity<typeof DomainBinding>;
