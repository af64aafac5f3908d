import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import type { Clock } from '../../../shared/time.js';
import type { ConfigurationService } from '../configuration/service.js';
import type { Caller } from '../identity/auth-context.js';
import { requireInScope } from '../identity/token-scope.js';
import type { RuntimeProfile, SourceProfile } from '../resources/profiles.js';
import { type DeployInput, inspectDeploy, requireServerInScope } from './admission.js';
import { blockedFindings, healthCheckPort, type PlanFinding, warningFindings } from './plan-findings.js';
import { buildSnapshot, effectiveProfiles } from './snapshot.js';

/** `GET /deployments/plan`: the four ids of `POST /deployments`, and which optional sections to include. */
export interface PlanQuery extends DeployInput {
  destinationId?: string;
  includeAccessPlan?: boolean;
  includeCommandSpecs?: boolean;
}

/** Dependencies of {@link createDeploymentPlanner}. */
export interface DeploymentPlannerOptions {
  now: Clock;
  configuration: Pick<ConfigurationService, 'forResource'>;
}

const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word));

/** How the container is started, as the agent applies the runtime profile: startCommand wins over the other two. */
function commandsOf(runtime: RuntimeProfile) {
  const source = 'resource-runtime-profile';
  if (runtime.startCommand !== null) {
    return [{ kind: 'start', command: runtime.startCommand, argv: ['/bin/sh', '-c', runtime.startCommand], source }];
  }
  // Nothing configured: the image's own ENTRYPOINT and CMD run, which the control plane does not know.
  return [
    ...(runtime.command === null
      ? []
      : [{ kind: 'entrypoint', command: runtime.command.map(shellWord).join(' '), argv: runtime.command, source }]),
    ...(runtime.arguments === null
      ? []
      : [{ kind: 'arguments', command: runtime.arguments.map(shellWord).join(' '), argv: runtime.arguments, source }]),
  ];
}

/** The next steps: deploy when ready, otherwise the fixes of each blocker, with the deploy marked as blocked. */
function nextActionsOf(blocked: PlanFinding[]) {
  const deploy = {
    kind: 'command',
    targetOperation: 'deployments.create',
    label: 'Deploy: POST /deployments with the same four ids',
    safeByDefault: false,
    blockedReasonCode: blocked[0]?.reasonCode ?? null,
  };
  const fixes = blocked.flatMap((finding) =>
    finding.fixPath.map((fix) => ({
      kind: fix.kind,
      targetOperation: fix.targetOperation,
      label: fix.label,
      safeByDefault: fix.safeByDefault,
      blockedReasonCode: null,
    })),
  );
  return [...fixes, deploy];
}

/**
 * Previews what `POST /deployments` would do, without writing anything: the same admission rules (reported, not
 * thrown), the same snapshot builder (so plan and deployment agree), and no secret: values are never opened.
 */
export function createDeploymentPlanner({ now, configuration }: DeploymentPlannerOptions) {
  return {
    async plan(em: EntityManager, auth: Caller, query: PlanQuery) {
      if (query.destinationId !== undefined) {
        throw new AppError('validation_failed', 'Berth deploys to a server directly: it has no destinations.', {
          field: 'destinationId',
          hint: 'Leave destinationId out; serverId names where the deployment runs.',
        });
      }
      requireInScope(auth, query, `resource "${query.resourceId}"`);
      requireServerInScope(auth, query.serverId);
      const { resource, environment, project, server, running, blockers } = await inspectDeploy(em, auth, query);
      const at = now();
      const { runtime, network, health, access } = effectiveProfiles(resource);
      const source = (resource.source ?? null) as SourceProfile | null;
      const snapshot =
        source === null
          ? null
          : buildSnapshot({
              resource,
              environment,
              server,
              entries: await configuration.forResource(em, environment.id, resource.id),
              // Nothing is opened for a preview: the plan holds no value of a secret, not even sealed.
              reveal: () => '',
              at,
            }).snapshot;
      const plan = snapshot?.runtimePlan ?? null;
      const unsupportedReasons = blockedFindings(blockers, { project, environment, resource, server, running });
      const routed = network !== null;
      return {
        schemaVersion: 'deployments.plan/v1' as const,
        context: {
          projectId: project.id,
          environmentId: environment.id,
          resourceId: resource.id,
          serverId: server.id,
          destinationId: null,
          projectName: project.name,
          environmentName: environment.name,
          resourceName: resource.name,
          serverName: server.name,
        },
        readiness: {
          status: blockers.length === 0 ? ('ready' as const) : ('blocked' as const),
          ready: blockers.length === 0,
          reasonCodes: blockers.map((b) => b.reasonCode),
        },
        source: {
          kind: plan?.source.kind ?? null,
          displayName: plan?.source.displayName ?? null,
          locator: plan?.source.locator ?? null,
          ...(plan?.source.inspection ?? {
            runtimeFamily: null,
            framework: null,
            packageManager: null,
            applicationShape: null,
            runtimeVersion: null,
            projectName: null,
            detectedFiles: [],
            detectedScripts: [],
            dockerfilePath: null,
            composeFilePath: null,
            jarPath: null,
          }),
          reasoning: [
            source === null
              ? 'The resource has no source: there is nothing to inspect.'
              : `A prebuilt image (${source.locator}) runs as it is: nothing is detected or built, so no framework, package manager or runtime version is claimed.`,
          ],
        },
        planner: {
          plannerKey: plan === null ? null : 'berth.prebuilt-image',
          supportTier: plan === null ? null : 'first-class',
          buildStrategy: plan?.buildStrategy ?? null,
          packagingMode: plan?.packagingMode ?? null,
          targetKind: plan?.target.kind ?? 'single-server',
          targetProviderKey: server.providerKey,
        },
        // Nothing is built from a prebuilt image, so there is no buildpack to select.
        buildpack: null,
        artifact:
          plan === null
            ? null
            : {
                kind: 'prebuilt-image',
                runtimeArtifactKind: plan.runtimeArtifact.kind,
                runtimeArtifactIntent: plan.runtimeArtifact.intent,
                image: plan.runtimeArtifact.image,
                composeFile: null,
                metadata: plan.runtimeArtifact.metadata,
              },
        commands: query.includeCommandSpecs === false ? [] : commandsOf(runtime),
        network,
        health: {
          ...health,
          kind: health.type,
          path: health.type === 'http' ? (health.http?.path ?? null) : null,
          port: healthCheckPort(health, network),
          configured: resource.healthPolicy !== null,
        },
        access:
          query.includeAccessPlan === false
            ? null
            : {
                // Until the edge proxy serves domains, a resource is reached on a stable loopback port of its server.
                routeSource: routed ? 'loopback-port' : 'none',
                hostname: routed ? '127.0.0.1' : null,
                scheme: routed ? 'http' : null,
                routeCount: routed ? 1 : 0,
                routeGroupCount: routed ? 1 : 0,
                listenPort: snapshot?.spec.preferredListenPort ?? null,
                pathPrefix: access.pathPrefix,
                proxyKind: 'caddy',
              },
        dependencyBindings: {
          status: 'ready',
          references: [],
          runtimeInjection: { status: 'ready', reason: 'no dependency bindings' },
        },
        warnings: warningFindings({ source, runtime, network, health }, resource),
        unsupportedReasons,
        nextActions: nextActionsOf(unsupportedReasons),
        // What the deployment would store (its own id and time aside) and the variables it would get, masked.
        runtimePlan: plan,
        environmentSnapshot: snapshot?.environmentSnapshot ?? null,
        generatedAt: at.toISOString(),
      };
    },
  };
}

/** The planner's type. */
export type DeploymentPlanner = ReturnType<typeof createDeploymentPlanner>;
