import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, notFound } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Clock } from '../../../shared/time.js';
import { templateProblem } from '../edge/generated-access.js';
import type { EdgePublisher } from '../edge/ports.js';
import type { Caller } from '../identity/auth-context.js';
import { Server } from '../servers/entity.js';
import type { ServerService } from '../servers/service.js';
import { type AccessPolicyMode, type AccessPolicyScopeKind, DefaultAccessPolicy } from './entity.js';

/** The generated-access providers Berth knows; `sslip` makes `<name>.<ip>.sslip.io` hostnames. */
export const accessProviders = ['sslip'] as const;

/** A policy's scope as clients send and read it. */
export interface PolicyScope {
  kind: AccessPolicyScopeKind;
  serverId?: string | undefined;
}

/** What `POST /default-access-domain-policies` accepts. */
export interface ConfigurePolicyInput {
  scope: PolicyScope;
  mode: AccessPolicyMode;
  providerKey?: string | null;
  templateRef?: string | null;
}

const invalid = (field: string, message: string, hint: string) =>
  new AppError('validation_failed', message, { field, hint });

/** The rules of a scope: `system` takes no server, `deployment-target` needs one. `at` prefixes the field name. */
function checkScope(scope: PolicyScope, at: 'scope.' | ''): void {
  if (scope.kind === 'deployment-target' && scope.serverId === undefined) {
    throw invalid(
      `${at}serverId`,
      'A deployment-target scope needs a serverId.',
      'Send the id of one of your servers.',
    );
  }
  if (scope.kind === 'system' && scope.serverId !== undefined) {
    throw invalid(
      `${at}serverId`,
      'The system scope takes no serverId.',
      'For one server, use {"kind": "deployment-target", "serverId": "…"}.',
    );
  }
}

/**
 * The rules of a policy, each failing with the field it is about: `provider` needs a known `providerKey`,
 * `custom-template` needs a `templateRef` (and accepts a known `providerKey`), `disabled` refuses a `providerKey`.
 */
export function checkPolicy(input: ConfigurePolicyInput): void {
  checkScope(input.scope, 'scope.');
  const providerKey = input.providerKey ?? undefined;
  const known = `Known providers: ${accessProviders.join(', ')}.`;
  if (input.mode === 'provider' && providerKey === undefined) {
    throw invalid('providerKey', 'Mode "provider" needs a providerKey.', `Send "providerKey": "sslip". ${known}`);
  }
  if (input.mode === 'disabled' && providerKey !== undefined) {
    throw invalid(
      'providerKey',
      'Mode "disabled" takes no providerKey.',
      'Leave providerKey out, or choose mode "provider" to generate hostnames.',
    );
  }
  if (providerKey !== undefined && !(accessProviders as readonly string[]).includes(providerKey)) {
    throw invalid('providerKey', `Unknown access provider "${providerKey}".`, known);
  }
  if (input.mode === 'custom-template' && (input.templateRef ?? undefined) === undefined) {
    throw invalid(
      'templateRef',
      'Mode "custom-template" needs a templateRef.',
      'Send the template that generated hostnames follow in templateRef.',
    );
  }
  const problem = input.mode === 'custom-template' && input.templateRef ? templateProblem(input.templateRef) : null;
  if (problem !== null) {
    throw invalid(
      'templateRef',
      `The template ${problem}.`,
      'Use {resource}, {environment} and {project} in a host name, e.g. "{resource}-{environment}.apps.example.com".',
    );
  }
}

const scopeKeyOf = (scope: PolicyScope) => (scope.kind === 'system' ? 'system' : `deployment-target:${scope.serverId}`);

/** Dependencies of {@link createAccessPolicyService}. */
export interface AccessPolicyServiceOptions {
  now: Clock;
  servers: Pick<ServerService, 'load'>;
  /** Republishes a server's edge document (its generated routes follow the policy); none: policies change no route. */
  publisher?: EdgePublisher;
}

/**
 * Default access policies: how generated access hostnames are made, for the whole organization (`system`) or one
 * server (`deployment-target`). One policy per scope; setting a scope again replaces its policy (same id). The edge module
 * applies them (control-plane/modules/edge/generated-access.ts).
 */
export function createAccessPolicyService({ now, servers, publisher }: AccessPolicyServiceOptions) {
  const view = (policy: DefaultAccessPolicy) => ({
    schemaVersion: 'default-access-domain-policies.policy/v1' as const,
    id: policy.id,
    scope:
      policy.scopeKind === 'system'
        ? { kind: policy.scopeKind }
        : { kind: policy.scopeKind, serverId: policy.server?.id ?? '' },
    mode: policy.mode,
    providerKey: policy.providerKey ?? null,
    templateRef: policy.templateRef ?? null,
    updatedAt: policy.updatedAt.toISOString(),
  });

  /** The scope's server must exist (NOT_FOUND naming `field`) and be within a deploy token's scope. */
  const loadServer = async (em: EntityManager, auth: Caller, serverId: string, field: string) => {
    try {
      await servers.load(em, auth, serverId);
    } catch (error) {
      if (error instanceof AppError && error.kind === 'not_found') throw notFound('Server', serverId, field);
      throw error;
    }
  };

  /** A deploy token limited to some servers sees the system policy and those servers' policies only. */
  const visible = (auth: Caller, policy: DefaultAccessPolicy) =>
    auth.kind !== 'deploy-token' ||
    auth.scope.deploymentTargetIds.length === 0 ||
    policy.server === null ||
    policy.server === undefined ||
    auth.scope.deploymentTargetIds.includes(policy.server.id);

  return {
    /** Sets the policy of a scope, replacing the one stored before; answers its id. */
    async configure(em: EntityManager, auth: Caller, input: ConfigurePolicyInput) {
      checkPolicy(input);
      const { scope } = input;
      if (scope.kind === 'deployment-target') await loadServer(em, auth, scope.serverId!, 'scope.serverId');
      const at = now();
      const scopeKey = scopeKeyOf(scope);
      // One statement (INSERT … ON CONFLICT), so two clients setting the same scope at once still leave one policy.
      await em.upsert(
        DefaultAccessPolicy,
        {
          id: newId('accessPolicy'),
          organization: auth.organizationId,
          scopeKind: scope.kind,
          server: scope.kind === 'system' ? null : scope.serverId!,
          scopeKey,
          mode: input.mode,
          providerKey: input.providerKey ?? null,
          templateRef: input.templateRef ?? null,
          createdAt: at,
          updatedAt: at,
        },
        {
          onConflictFields: ['organization', 'scopeKey'],
          onConflictAction: 'merge',
          onConflictMergeFields: ['mode', 'providerKey', 'templateRef', 'updatedAt'],
        },
      );
      const stored = await em.findOneOrFail(
        DefaultAccessPolicy,
        { organization: auth.organizationId, scopeKey },
        { refresh: true },
      );
      // The servers whose generated names this policy decides: the one it names, or every one of the organization.
      const affected =
        scope.kind === 'system'
          ? (await em.find(Server, { organization: auth.organizationId }, { orderBy: { id: 'asc' } })).map((s) => s.id)
          : [scope.serverId!];
      for (const serverId of publisher ? affected : []) await publisher!.publish(em, serverId);
      return { id: stored.id };
    },

    async list(em: EntityManager, auth: Caller) {
      const policies = await em.find(
        DefaultAccessPolicy,
        { organization: auth.organizationId },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
      return {
        schemaVersion: 'default-access-domain-policies.list/v1' as const,
        items: policies.filter((p) => visible(auth, p)).map(view),
      };
    },

    /** The policy stored for one scope, or `policy: null`; an unknown server is NOT_FOUND. */
    async show(em: EntityManager, auth: Caller, scope: PolicyScope) {
      checkScope(scope, '');
      if (scope.kind === 'deployment-target') await loadServer(em, auth, scope.serverId!, 'serverId');
      const policy = await em.findOne(DefaultAccessPolicy, {
        organization: auth.organizationId,
        scopeKey: scopeKeyOf(scope),
      });
      return {
        schemaVersion: 'default-access-domain-policies.show/v1' as const,
        scope: scope.kind === 'system' ? { kind: scope.kind } : { kind: scope.kind, serverId: scope.serverId! },
        policy: policy === null ? null : view(policy),
      };
    },
  };
}

/** The access policy service's type. */
export type AccessPolicyService = ReturnType<typeof createAccessPolicyService>;
