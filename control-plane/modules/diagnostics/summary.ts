import type { EntityManager } from '@mikro-orm/postgresql';
import { notFound } from '../../../shared/errors.js';
import type { Clock } from '../../../shared/time.js';
import { Deployment, DeploymentLogLine } from '../deployments/entity.js';
import { proxyConfiguration } from '../edge/proxy-configuration.js';
import type { EdgeService } from '../edge/service.js';
import type { AuthContext, Caller } from '../identity/auth-context.js';
import type { NetworkProfile } from '../resources/profiles.js';
import type { ResourceService } from '../resources/service.js';
import type { createResourceHealth } from '../runtime/health.js';
import { tailLines } from '../runtime-logs/reads.js';
import { Server } from '../servers/entity.js';

/** The query of `GET /resources/{id}/diagnostic-summary`. */
export interface DiagnosticQuery {
  deploymentId?: string | undefined;
  includeDeploymentLogTail?: boolean | undefined;
  includeRuntimeLogTail?: boolean | undefined;
  includeProxyConfiguration?: boolean | undefined;
  tailLines?: number | undefined;
  locale?: string | undefined;
  requestId: string;
}

/** One thing found wrong, and what to do about it. */
interface Finding {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  nextAction: string;
}

type Health = Awaited<ReturnType<ReturnType<typeof createResourceHealth>>>;

const diagnosisStatus = (findings: Finding[]): 'ok' | 'attention' | 'problem' =>
  findings.some((f) => f.severity === 'error') ? 'problem' : findings.length > 0 ? 'attention' : 'ok';
const statusOf = (value: unknown) => (value === null || value === undefined ? 'unavailable' : 'available');

/**
 * `GET /resources/{id}/diagnostic-summary`: one read that says what is wrong with a resource and what to do — its
 * context, the deployment in focus, its access and proxy routes, the tails of its deployment and runtime logs (secrets
 * already masked), its health as the agent sees it now, and `diagnosis` with every finding and its next action — plus
 * copy-safe renderings (JSON, Markdown, plain text) to paste into a ticket.
 */
export function createDiagnosticSummary(deps: {
  now: Clock;
  resources: Pick<ResourceService, 'load'>;
  health: ReturnType<typeof createResourceHealth>;
  edge: Pick<EdgeService, 'plan' | 'inspector'>;
  databaseMode: 'embedded' | 'external';
}) {
  const { now } = deps;

  return async function summary(
    em: EntityManager,
    caller: Caller | AuthContext,
    resourceId: string,
    query: DiagnosticQuery,
  ) {
    const { resource, environment, project } = await deps.resources.load(em, caller, resourceId);
    const tail = query.tailLines ?? 20;
    const focused = query.deploymentId
      ? await em.findOne(Deployment, { id: query.deploymentId, resource: resourceId })
      : await em.findOne(Deployment, { resource: resourceId }, { orderBy: { createdAt: 'desc' } });
    if (query.deploymentId && focused === null) throw notFound('Deployment', query.deploymentId, 'deploymentId');
    const server = focused ? await em.findOne(Server, focused.server.id) : null;
    const sourceErrors: Array<Record<string, unknown>> = [];
    const health: Health | null = await deps.health(em, caller, resourceId).catch((error: unknown) => {
      sourceErrors.push({
        source: 'runtime',
        code: 'health_unavailable',
        category: 'infra',
        phase: 'runtime-probe',
        retryable: true,
        relatedEntityId: resourceId,
        relatedState: 'unknown',
        message: error instanceof Error ? error.message : String(error),
      });
      return null;
    });
    for (const e of health?.sourceErrors ?? []) sourceErrors.push({ ...(e as object), retryable: true });
    const logCount = focused ? await em.count(DeploymentLogLine, { deployment: focused.id }) : 0;
    const deploymentLines =
      focused && query.includeDeploymentLogTail !== false
        ? (
            await em.find(DeploymentLogLine, { deployment: focused.id }, { orderBy: { id: 'desc' }, limit: tail })
          ).reverse()
        : [];
    const runtimeLines = query.includeRuntimeLogTail !== false ? await tailLines(em, { resourceId }, tail) : [];
    const proxy =
      focused && query.includeProxyConfiguration !== false
        ? await proxyConfiguration(em, {
            resourceId,
            routeScope: 'latest',
            includeDiagnostics: false,
            deploymentId: focused.id,
            plan: (serverId) => deps.edge.plan(em, serverId),
            inspector: deps.edge.inspector,
            now,
          }).catch(() => null)
        : null;

    const findings: Finding[] = [];
    if (focused === null) {
      findings.push({
        code: 'not-deployed',
        severity: 'warning',
        message: 'The resource has never been deployed.',
        nextAction: 'deploy',
      });
    } else if (focused.status === 'failed' || focused.status === 'interrupted') {
      findings.push({
        code: focused.errorCode ?? 'deployment-failed',
        severity: 'error',
        message: `Deployment ${focused.id} ${focused.status}: ${focused.errorMessage ?? 'no reason was recorded'}.`,
        nextAction: 'review-deployment-events',
      });
    }
    if (server !== null && server.connectionState !== 'connected') {
      findings.push({
        code: 'agent-unreachable',
        severity: 'error',
        message: `The agent of server ${server.name} is ${server.connectionState}: Berth cannot see or change what runs there.`,
        nextAction: 'check-server-connectivity',
      });
    }
    if (health && health.overall !== 'healthy' && health.overall !== 'not-deployed') {
      findings.push({
        code: `runtime-${health.runtime.lifecycle === 'running' ? health.runtime.health : health.runtime.lifecycle}`,
        severity: 'error',
        message: health.runtime.message ?? `The runtime is ${health.overall}.`,
        nextAction: health.runtime.lifecycle === 'stopped' ? 'start-runtime' : 'review-runtime-logs',
      });
    }
    if (proxy && (proxy.status === 'failed' || proxy.status === 'stale')) {
      findings.push({
        code: `proxy-${proxy.status}`,
        severity: 'warning',
        message: 'Caddy does not serve the routes Berth planned for this resource.',
        nextAction: 'inspect-proxy-configuration',
      });
    }
    const stderr = runtimeLines.filter((l) => l.stream === 'stderr');
    if (stderr.length > 0) {
      findings.push({
        code: 'runtime-stderr',
        severity: 'warning',
        message: `The app wrote ${stderr.length} of its last ${runtimeLines.length} lines to stderr; the last: "${stderr.at(-1)!.message.slice(0, 200)}".`,
        nextAction: 'review-runtime-logs',
      });
    }
    const masked = [...deploymentLines, ...runtimeLines].filter((l) => l.masked).length;
    const network = resource.networkProfile as NetworkProfile | null;
    const generatedAt = now().toISOString();
    const body = {
      schemaVersion: 'resources.diagnostic-summary/v1' as const,
      generatedAt,
      focus: { resourceId, requestedDeploymentId: query.deploymentId ?? null, deploymentId: focused?.id ?? null },
      context: {
        projectId: project.id,
        environmentId: environment.id,
        resourceName: resource.name,
        resourceSlug: resource.slug,
        resourceKind: resource.kind,
        destinationId: server?.id ?? null,
        serverId: server?.id ?? null,
        runtimeStrategy: 'docker-container',
        buildStrategy: 'prebuilt-image',
        packagingMode: 'image',
        targetKind: server?.targetKind ?? null,
        targetProviderKey: server?.providerKey ?? null,
        services: [{ name: 'web', kind: 'web' }],
        networkProfile: network,
        observationWindow: { from: focused?.createdAt.toISOString() ?? generatedAt, to: generatedAt },
      },
      deployment: focused && {
        id: focused.id,
        status: focused.status,
        lifecyclePhase: focused.status,
        runtimePlanId: focused.id,
        sourceKind: 'docker-image',
        sourceDisplayName: focused.snapshot.spec.image,
        serverId: focused.server.id,
        destinationId: focused.server.id,
        createdAt: focused.createdAt.toISOString(),
        startedAt: focused.startedAt?.toISOString() ?? null,
        finishedAt: focused.finishedAt?.toISOString() ?? null,
        logCount,
        lastError: focused.errorMessage
          ? {
              timestamp: (focused.finishedAt ?? focused.updatedAt).toISOString(),
              phase: 'finish',
              message: focused.errorMessage,
            }
          : null,
      },
      access: {
        status: statusOf(focused?.publicUrl ?? focused?.directUrl),
        generatedUrl: focused?.publicUrl ?? null,
        durableUrl: null,
        serverAppliedUrl: proxy?.status === 'applied' ? (focused?.publicUrl ?? null) : null,
        plannedUrl: focused?.publicUrl ?? focused?.directUrl ?? null,
        latestAccessFailure: null,
        selectedRoute: null,
        routeIntentStatuses: [],
        proxyRouteStatus: proxy?.status ?? 'unknown',
        lastRouteRealizationDeploymentId: proxy?.lastAppliedDeploymentId ?? null,
        reasonCode: null,
        phase: null,
      },
      proxy: {
        status: statusOf(proxy),
        providerKey: 'caddy',
        proxyRouteStatus: proxy?.status ?? 'unknown',
        configurationIncluded: proxy !== null,
        configurationStatus: proxy?.status ?? 'not-configured',
        configurationGeneratedAt: proxy?.generatedAt ?? null,
        routeCount: proxy?.routes.length ?? 0,
        sectionCount: proxy?.sections.length ?? 0,
        sections: (proxy?.sections ?? []).map((s) => ({
          id: s.id,
          title: s.title,
          format: s.format,
          redacted: s.redacted,
          source: s.source,
        })),
        tlsRoutes: [],
        warnings: proxy?.warnings ?? [],
        reasonCode: null,
        phase: null,
      },
      deploymentLogs: {
        status: focused ? 'available' : 'unavailable',
        tailLimit: tail,
        lineCount: deploymentLines.length,
        lines: deploymentLines.map((l) => ({
          timestamp: l.timestamp.toISOString(),
          source: l.source,
          phase: l.phase,
          level: l.level,
          stream: l.level === 'error' ? 'stderr' : 'stdout',
          serviceName: 'web',
          message: l.message,
          masked: l.masked,
        })),
        reasonCode: focused ? null : 'not-deployed',
        phase: null,
      },
      runtimeLogs: {
        status: 'available',
        tailLimit: tail,
        lineCount: runtimeLines.length,
        lines: runtimeLines.map((l) => ({
          timestamp: l.observedAt.toISOString(),
          source: 'application',
          phase: 'runtime',
          level: l.stream === 'stderr' ? 'error' : 'info',
          stream: l.stream,
          serviceName: l.serviceName,
          message: l.message,
          masked: l.masked,
        })),
        reasonCode: null,
        phase: null,
      },
      health: health && { overall: health.overall, runtime: health.runtime, checks: health.checks },
      diagnosis: {
        status: diagnosisStatus(findings),
        findings,
      },
      system: {
        entrypoint: 'http-api',
        requestId: query.requestId,
        locale: query.locale ?? 'en',
        readinessStatus: 'ready',
        databaseDriver: 'postgresql',
        databaseMode: deps.databaseMode,
      },
      sourceErrors,
      redaction: { policy: 'deployment-environment-secrets', masked: masked > 0, maskedValueCount: masked },
    };
    const plain = [
      `${resource.name} (${resourceId}): ${body.diagnosis.status}`,
      ...findings.map((f) => `- [${f.severity}] ${f.code}: ${f.message} Next: ${f.nextAction}.`),
      focused ? `Deployment ${focused.id}: ${focused.status}, image ${focused.snapshot.spec.image}.` : 'Not deployed.',
      health ? `Runtime: ${health.runtime.lifecycle}, health ${health.runtime.health}.` : 'Runtime: unknown.',
    ].join('\n');
    return {
      ...body,
      copy: {
        json: JSON.stringify(body),
        markdown: `### Diagnostic summary\n\n${plain.replace(/\n- /g, '\n\n- ')}\n`,
        plainText: plain,
      },
    };
  };
}
export type DiagnosticSummary = ReturnType<typeof createDiagnosticSummary>;
