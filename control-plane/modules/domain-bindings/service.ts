import { randomBytes } from 'node:crypto';
import { type FilterQuery, ref, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Clock } from '../../../shared/time.js';
import { requireConfirmation } from '../../guards.js';
import { Certificate } from '../certificates/entity.js';
import { certificateView } from '../certificates/views.js';
import type { EdgePublisher } from '../edge/ports.js';
import type { AuthContext, Caller } from '../identity/auth-context.js';
import { inScope, requireInScope } from '../identity/token-scope.js';
import { Resource } from '../resources/entity.js';
import { Server } from '../servers/entity.js';
import { bindingServerIds } from './edge-source.js';
import { DomainBinding, type OwnershipMethod, type VerificationAttempt } from './entity.js';
import { loadBinding } from './load.js';
import type { OwnershipChecks } from './ownership.js';
import { type PlanEdge, readinessOf } from './readiness.js';
import { conflict, invalid, normalizeDomain, requireRedirectTarget, requireSupportedProxy } from './rules.js';
import { bindingView, deleteSafetyOf } from './views.js';

/** Dependencies of {@link createDomainBindingService}. */
export interface DomainBindingServiceOptions {
  now: Clock;
  log: Logger;
  publisher: EdgePublisher;
  checks: OwnershipChecks;
  /** The edge plan of a server (the edge module's), for the route readiness of a binding. */
  plan: PlanEdge;
}

/** What `POST /domain-bindings` accepts (schema.ts `CreateBody`). */
export interface CreateBindingInput {
  projectId: string;
  environmentId: string;
  resourceId: string;
  serverId?: string | undefined;
  destinationId?: string | undefined;
  domainName: string;
  pathPrefix?: string | undefined;
  proxyKind?: DomainBinding['proxyKind'] | undefined;
  tlsMode?: DomainBinding['tlsMode'] | undefined;
  certificatePolicy?: DomainBinding['certificatePolicy'] | undefined;
  redirectTo?: string | undefined;
  redirectStatus?: 301 | 302 | 307 | 308 | undefined;
}

/** What `POST /domain-bindings/{id}/route` accepts (schema.ts `RouteBody`); what is left out stays. */
export interface RouteBindingInput {
  resourceId?: string | undefined;
  pathPrefix?: string | undefined;
  redirectTo?: string | null | undefined;
  redirectStatus?: 301 | 302 | 307 | 308 | undefined;
}

const alreadyBound = (domain: string) =>
  conflict(
    'domainName',
    'domain_already_bound',
    `"${domain}" is already bound on this Berth instance.`,
    'A domain is bound once: delete the other binding first (DELETE /domain-bindings/{id}), or bind another name.',
  );

/**
 * The domain bindings of seed 001: a host name (and path prefix) routed by the edge proxy to a resource, with an
 * ownership challenge that is checked and reported but never enforced (the ACME challenge proves control of the name
 * when a certificate is issued). Every change that moves a route republishes the edge documents of the servers it
 * leaves and reaches.
 */
export function createDomainBindingService(options: DomainBindingServiceOptions) {
  const { now, log, publisher, checks, plan } = options;

  async function publishAll(em: EntityManager, ...serverLists: string[][]): Promise<void> {
    for (const serverId of [...new Set(serverLists.flat())].sort()) await publisher.publish(em, serverId);
  }

  const certificatesOf = (em: EntityManager, bindingIds: string[]) =>
    em.find(Certificate, { domainBinding: { $in: bindingIds } }, { orderBy: { createdAt: 'desc', id: 'desc' } });

  /** The resource a binding may point at: the caller's (else NOT_FOUND), in the stated project and environment. */
  async function resourceFor(
    em: EntityManager,
    auth: Caller,
    resourceId: string,
    expected: { projectId: string; environmentId: string },
    fields: { project: string; environment: string },
  ): Promise<Resource> {
    const resource = await em.findOne(Resource, { id: resourceId, organization: auth.organizationId });
    if (resource === null) throw notFound('Resource', resourceId, 'resourceId');
    requireInScope(
      auth,
      { projectId: resource.project.id, environmentId: resource.environment.id, resourceId },
      `resource "${resourceId}"`,
    );
    const hint = "Bind a resource of the binding's own project and environment.";
    if (resource.project.id !== expected.projectId) {
      throw invalid(
        fields.project,
        'resource_scope_mismatch',
        `Resource "${resourceId}" belongs to project "${resource.project.id}", not "${expected.projectId}".`,
        hint,
      );
    }
    if (resource.environment.id !== expected.environmentId) {
      throw invalid(
        fields.environment,
        'resource_scope_mismatch',
        `Resource "${resourceId}" is in environment "${resource.environment.id}", not "${expected.environmentId}".`,
        hint,
      );
    }
    return resource;
  }

  /**
   * The canonical domain a binding may redirect to: another live binding of the organization that serves traffic
   * itself (one hop only), and never the binding's own domain.
   */
  async function redirectTarget(em: EntityManager, auth: Caller, raw: string, own: string): Promise<string> {
    const target = normalizeDomain(raw, 'redirectTo');
    const canonical =
      target === own
        ? null
        : await em.findOne(DomainBinding, { organization: auth.organizationId, domainKey: target, deletedAt: null });
    if (canonical === null || canonical.redirectTo) {
      throw invalid(
        'redirectTo',
        'redirect_target_invalid',
        `"${target}" is not another binding of this organization that serves traffic.`,
        'Bind the canonical domain first (without a redirect), then redirect this one to it.',
      );
    }
    return target;
  }

  /** Refuses to make a binding a redirect while other bindings redirect to it (a chain of redirects). */
  async function requireNotCanonical(em: EntityManager, binding: DomainBinding): Promise<void> {
    const sources = await em.count(DomainBinding, {
      organization: binding.organization.id,
      redirectTo: binding.domainName,
      deletedAt: null,
    });
    if (sources === 0) return;
    throw invalid(
      'redirectTo',
      'redirect_target_invalid',
      `${sources} other binding(s) redirect to "${binding.domainName}", so it must keep serving traffic.`,
      'Point those bindings elsewhere first (POST /domain-bindings/{id}/route).',
    );
  }

  /** The hosts of the servers the binding is served on: what its domain should resolve to. */
  async function expectedTargets(em: EntityManager, binding: DomainBinding): Promise<string[]> {
    const ids = await bindingServerIds(em, binding);
    if (ids.length === 0) return [];
    const servers = await em.find(Server, { id: { $in: ids } });
    return [...new Set(servers.map((s) => s.host.toLowerCase()))].sort();
  }

  async function runCheck(em: EntityManager, binding: DomainBinding, method: OwnershipMethod) {
    const at = now();
    const outcome = await checks.check(method, binding.domainName, binding.challengeToken);
    const attempt: VerificationAttempt = {
      id: newId('verificationAttempt', at.getTime()),
      method,
      ...outcome,
      checkedAt: at.toISOString(),
    };
    binding.verificationAttempts = [...binding.verificationAttempts, attempt];
    // Once proven, ownership stays proven: the record is often removed after the check, as every provider allows.
    if (outcome.outcome === 'verified') binding.ownershipVerifiedAt = at;
    binding.dnsObservation = await checks.observe(binding.domainName, await expectedTargets(em, binding), at);
    binding.updatedAt = at;
    await em.flush();
    log.info({ domainBindingId: binding.id, method, outcome: outcome.outcome }, 'domain ownership checked');
    const certificates = await certificatesOf(em, [binding.id]);
    return {
      id: binding.id,
      verificationAttemptId: attempt.id,
      outcome: outcome.outcome,
      status: bindingView(binding, certificates).status,
      message: outcome.message,
    };
  }

  return {
    /** `GET /domain-bindings`: live bindings, newest first; deploy tokens see those in their scope. */
    async list(
      em: EntityManager,
      auth: Caller,
      query: { projectId?: string; environmentId?: string; resourceId?: string; limit?: number },
    ) {
      const where: FilterQuery<DomainBinding> = { organization: auth.organizationId, deletedAt: null };
      if (query.projectId) where.project = query.projectId;
      if (query.environmentId) where.environment = query.environmentId;
      if (query.resourceId) where.resource = query.resourceId;
      const found = await em.find(DomainBinding, where, {
        orderBy: { createdAt: 'desc', id: 'desc' },
        // A token's scope is applied after the read; reading past the limit keeps a full page for it.
        limit: auth.kind === 'deploy-token' ? undefined : (query.limit ?? 100),
      });
      const visible = found
        .filter((b) =>
          inScope(auth, { projectId: b.project.id, environmentId: b.environment.id, resourceId: b.resource.id }),
        )
        .slice(0, query.limit ?? 100);
      const certificates = await certificatesOf(
        em,
        visible.map((b) => b.id),
      );
      return {
        items: visible.map((b) =>
          bindingView(
            b,
            certificates.filter((c) => c.domainBinding.id === b.id),
          ),
        ),
      };
    },

    /** `POST /domain-bindings`: records the binding and publishes the edge of the servers its resource runs on. */
    async create(em: EntityManager, auth: AuthContext, input: CreateBindingInput): Promise<{ id: string }> {
      const domainName = normalizeDomain(input.domainName, 'domainName');
      if (input.destinationId !== undefined) {
        throw new AppError(
          'validation_failed',
          'Berth has no destinations: a binding is served on the server(s) its resource runs on.',
          { field: 'destinationId', hint: 'Leave destinationId out (serverId pins the binding to one server).' },
        );
      }
      const proxyKind = input.proxyKind ?? 'caddy';
      requireSupportedProxy(proxyKind);
      requireRedirectTarget(input.redirectTo, input.redirectStatus);
      const resource = await resourceFor(em, auth, input.resourceId, input, {
        project: 'projectId',
        environment: 'environmentId',
      });
      if (input.serverId !== undefined) {
        const server = await em.findOne(Server, { id: input.serverId, organization: auth.organizationId });
        if (server === null) throw notFound('Server', input.serverId, 'serverId');
      }
      if (await em.findOne(DomainBinding, { domainKey: domainName })) throw alreadyBound(domainName);
      const redirectTo = input.redirectTo ? await redirectTarget(em, auth, input.redirectTo, domainName) : null;
      const at = now();
      const binding = em.create(DomainBinding, {
        id: newId('domainBinding', at.getTime()),
        organization: auth.organizationId,
        project: resource.project.id,
        environment: resource.environment.id,
        resource: resource.id,
        server: input.serverId ?? null,
        domainName,
        domainKey: domainName,
        pathPrefix: input.pathPrefix ?? '/',
        proxyKind,
        tlsMode: input.tlsMode ?? 'auto',
        certificatePolicy: input.certificatePolicy ?? 'auto',
        redirectTo,
        redirectStatus: redirectTo ? (input.redirectStatus ?? 308) : null,
        // 32 random bytes: 43 characters of base64url, what the TXT record or the HTTP answer must carry.
        challengeToken: randomBytes(32).toString('base64url'),
        ownershipVerifiedAt: null,
        verificationAttempts: [],
        dnsObservation: { status: 'pending', expectedTargets: [], observedTargets: [], checkedAt: null, message: null },
        createdAt: at,
        updatedAt: at,
        deletedAt: null,
      });
      binding.dnsObservation = { ...binding.dnsObservation, expectedTargets: await expectedTargets(em, binding) };
      try {
        await em.flush();
      } catch (error) {
        // Two requests for one domain at once: the unique domain key lets exactly one of them in.
        if (error instanceof UniqueConstraintViolationException) throw alreadyBound(domainName);
        throw error;
      }
      const serverIds = await bindingServerIds(em, binding);
      await publishAll(em, serverIds);
      log.info({ domainBindingId: binding.id, domainName, serverIds }, 'domain bound');
      return { id: binding.id };
    },

    /** `GET /domain-bindings/{id}`: the binding with its route, proxy and certificate readiness. */
    async show(em: EntityManager, auth: Caller, domainBindingId: string) {
      const binding = await loadBinding(em, auth, domainBindingId);
      const certificates = await certificatesOf(em, [binding.id]);
      const [serverId] = await bindingServerIds(em, binding);
      const readiness = await readinessOf(em, binding, certificates, serverId ?? null, plan);
      return {
        binding: bindingView(binding, certificates),
        ...readiness,
        certificates: certificates.filter((c) => c.status !== 'deleted').map(certificateView),
        deleteSafety: deleteSafetyOf(binding, certificates),
      };
    },

    /** `GET /domain-bindings/{id}/delete-check`. */
    async deleteCheck(em: EntityManager, auth: Caller, domainBindingId: string) {
      const binding = await loadBinding(em, auth, domainBindingId);
      return deleteSafetyOf(binding, await certificatesOf(em, [binding.id]));
    },

    /**
     * `DELETE /domain-bindings/{id}`: removes the binding's route (and only it) from the edge; the row, its
     * attempts and its certificates' history stay, and the domain may be bound again. An active certificate blocks.
     */
    async remove(
      em: EntityManager,
      auth: AuthContext,
      domainBindingId: string,
      confirmation: { domainBindingId: string },
    ) {
      const binding = await loadBinding(em, auth, domainBindingId);
      requireConfirmation('domainBindingId', binding.id, confirmation.domainBindingId, 'domain binding');
      const safety = deleteSafetyOf(binding, await certificatesOf(em, [binding.id]));
      if (!safety.safeToDelete) {
        throw conflict(
          'domainBindingId',
          'certificate_active',
          `Domain binding "${binding.id}" has a certificate in use.`,
          safety.blockers[0]?.message ?? 'GET /domain-bindings/{id}/delete-check lists what blocks.',
        );
      }
      await requireNotCanonical(em, binding);
      const serverIds = await bindingServerIds(em, binding);
      const at = now();
      binding.deletedAt = at;
      binding.domainKey = null;
      binding.updatedAt = at;
      await em.flush();
      await publishAll(em, serverIds);
      log.info({ domainBindingId: binding.id, serverIds }, 'domain binding deleted');
      return { id: binding.id };
    },

    /**
     * `POST /domain-bindings/{id}/route`: points the binding at another resource of its project and environment,
     * changes its path prefix, or makes it serve again or redirect to a canonical binding. Publishes the edge of
     * the servers the route leaves and of those it reaches.
     */
    async route(em: EntityManager, auth: AuthContext, domainBindingId: string, input: RouteBindingInput) {
      const binding = await loadBinding(em, auth, domainBindingId);
      const before = await bindingServerIds(em, binding);
      if (input.resourceId !== undefined && input.resourceId !== binding.resource.id) {
        const resource = await resourceFor(
          em,
          auth,
          input.resourceId,
          { projectId: binding.project.id, environmentId: binding.environment.id },
          { project: 'resourceId', environment: 'resourceId' },
        );
        binding.resource = ref(resource);
      }
      if (input.pathPrefix !== undefined) binding.pathPrefix = input.pathPrefix;
      if (input.redirectTo === null) {
        binding.redirectTo = null;
        binding.redirectStatus = null;
      } else if (input.redirectTo !== undefined) {
        await requireNotCanonical(em, binding);
        binding.redirectTo = await redirectTarget(em, auth, input.redirectTo, binding.domainName);
        binding.redirectStatus = input.redirectStatus ?? binding.redirectStatus ?? 308;
      } else if (input.redirectStatus !== undefined) {
        requireRedirectTarget(binding.redirectTo, input.redirectStatus);
        binding.redirectStatus = input.redirectStatus;
      }
      binding.updatedAt = now();
      await em.flush();
      const after = await bindingServerIds(em, binding);
      await publishAll(em, before, after);
      return { id: binding.id };
    },

    /** `POST /domain-bindings/{id}/ownership-confirmations`: runs one ownership check now (dns-txt by default). */
    async confirmOwnership(em: EntityManager, auth: AuthContext, domainBindingId: string, method?: OwnershipMethod) {
      return runCheck(em, await loadBinding(em, auth, domainBindingId), method ?? 'dns-txt');
    },

    /** `POST /domain-bindings/{id}/verification-retries`: runs the last check's method again (dns-txt when none). */
    async retryVerification(em: EntityManager, auth: AuthContext, domainBindingId: string) {
      const binding = await loadBinding(em, auth, domainBindingId);
      return runCheck(em, binding, binding.verificationAttempts.at(-1)?.method ?? 'dns-txt');
    },
  };
}

/** The domain-binding service's type. */
export type DomainBindingService = ReturnType<typeof createDomainBindingService>;
