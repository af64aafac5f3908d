import type { EntityManager } from '@mikro-orm/postgresql';
import type { RuntimeInspectResult } from '../../../shared/runtime-command.js';
import type { Clock } from '../../../shared/time.js';
import { Deployment, DeploymentEvent } from '../deployments/entity.js';
import type { Caller } from '../identity/auth-context.js';
import { defaultHealthPolicy, type HealthPolicy } from '../resources/profiles.js';
import type { ResourceService } from '../resources/service.js';
import { currentDeployment, type RuntimeService } from './service.js';

/**
 * `GET /resources/{id}/health`: what runs for the resource now, from the agent (`mode=live`, the default here:
 * Berth keeps no stale cache to show), with the latest deployment, runtime control and drift the agent reported.
 * When the agent cannot answer, the sections say so in `sourceErrors` rather than guessing.
 */
export function createResourceHealth({
  now,
  resources,
  runtime,
}: {
  now: Clock;
  resources: ResourceService;
  runtime: RuntimeService;
}) {
  return async function health(em: EntityManager, auth: Caller, resourceId: string) {
    const { resource } = await resources.load(em, auth, resourceId);
    const latest = await em.findOne(Deployment, { resource: resourceId }, { orderBy: { createdAt: 'desc' } });
    const current = await currentDeployment(em, resourceId);
    const policy = (resource.healthPolicy ?? defaultHealthPolicy) as HealthPolicy;
    const sourceErrors: Array<Record<string, unknown>> = [];
    let observed: RuntimeInspectResult | null = null;
    if (current !== null) {
      const answer = await runtime.inspect(em, current);
      if ('error' in answer) {
        sourceErrors.push({
          source: 'runtime',
          code: 'runtime_unobservable',
          category: 'infra',
          phase: 'runtime-probe',
          retriable: true,
          relatedEntityId: current.server.id,
          relatedState: 'unknown',
          message: answer.error,
        });
      } else observed = answer;
    }
    const drift =
      current === null
        ? null
        : await em.findOne(
            DeploymentEvent,
            { deployment: current.id, eventType: 'runtime-drift' },
            { orderBy: { id: 'desc' } },
          );
    const control = await runtime.latestControl(em, resourceId);
    const container = observed?.container ?? null;
    const lifecycle =
      current === null
        ? 'not-deployed'
        : container === null
          ? observed
            ? 'missing'
            : 'unknown'
          : container.running
            ? 'running'
            : 'stopped';
    const probe = observed?.probe ?? null;
    const runtimeHealth =
      probe === null
        ? lifecycle === 'running' && !policy.enabled
          ? 'healthy'
          : 'unknown'
        : probe.ok
          ? 'healthy'
          : 'unhealthy';
    const overall =
      lifecycle === 'not-deployed'
        ? 'not-deployed'
        : lifecycle === 'running'
          ? runtimeHealth === 'unhealthy'
            ? 'unhealthy'
            : runtimeHealth === 'healthy'
              ? 'healthy'
              : 'unknown'
          : lifecycle === 'unknown'
            ? 'unknown'
            : 'unhealthy';
    const at = now().toISOString();
    const url = current?.publicUrl ?? current?.directUrl ?? null;
    return {
      schemaVersion: 'resources.health/v1' as const,
      resourceId,
      generatedAt: at,
      observedAt: observed?.observedAt ?? at,
      overall,
      latestDeployment: latest && {
        id: latest.id,
        status: latest.status,
        createdAt: latest.createdAt.toISOString(),
        startedAt: latest.startedAt?.toISOString() ?? null,
        finishedAt: latest.finishedAt?.toISOString() ?? null,
        serverId: latest.server.id,
        destinationId: null,
        lastError: latest.errorMessage
          ? {
              timestamp: (latest.finishedAt ?? latest.updatedAt).toISOString(),
              phase: 'finish',
              message: latest.errorMessage,
            }
          : null,
      },
      runtime: {
        lifecycle,
        health: runtimeHealth,
        observedAt: observed?.observedAt ?? null,
        runtimeKind: 'docker-container',
        reasonCode: drift ? 'runtime-drift' : container && !container.running ? 'container-stopped' : null,
        message:
          drift?.summary ??
          (container
            ? `Container ${container.name} is ${container.state}${container.restartCount ? ` (restarted ${container.restartCount} times)` : ''}.`
            : current
              ? 'No container found for the current deployment.'
              : 'Not deployed yet.'),
        containerName: container?.name ?? null,
        restartCount: container?.restartCount ?? null,
      },
      latestRuntimeControl: control,
      healthPolicy: {
        status: resource.healthPolicy === null ? 'default' : 'configured',
        enabled: policy.enabled,
        type: policy.type,
        path: policy.http?.path ?? null,
        port: policy.http?.port ?? policy.tcp?.port ?? current?.snapshot.spec.internalPort ?? null,
        expectedStatusCode: policy.http?.expectedStatusCode ?? null,
        intervalSeconds: policy.intervalSeconds,
        timeoutSeconds: policy.timeoutSeconds,
        retries: policy.retries,
        startPeriodSeconds: policy.startPeriodSeconds,
        reasonCode: null,
      },
      publicAccess: {
        status: url === null ? 'not-configured' : lifecycle === 'running' ? 'ready' : 'unavailable',
        url,
        kind: url === null ? null : 'loopback-port',
        reasonCode: url === null ? 'no-access-route' : null,
        phase: null,
        routeIntentStatus: null,
        latestAccessFailure: null,
      },
      proxy: {
        status: observed?.route ? 'ready' : current === null ? 'not-configured' : 'unknown',
        providerKey: 'caddy',
        lastRouteRealizationDeploymentId: observed?.route ? current!.id : null,
        reasonCode: null,
        listenPort: observed?.route?.listenPort ?? null,
      },
      checks:
        probe === null
          ? []
          : [
              {
                name: `${policy.type}-health`,
                target: 'runtime',
                status: probe.ok ? 'passed' : 'failed',
                observedAt: observed!.observedAt,
                durationMs: probe.durationMs,
                statusCode: null,
                exitCode: null,
                message: probe.detail,
                reasonCode: probe.ok ? null : 'health-check-failed',
                phase: 'runtime-probe',
                retriable: true,
                metadata: {},
              },
            ],
      sourceErrors,
    };
  };
}
