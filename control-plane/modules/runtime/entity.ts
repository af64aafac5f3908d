import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { DesiredStateDocument } from '../../../shared/runtime-command.js';
import { Server } from '../servers/entity.js';

/**
 * The versioned desired state of one server (ARCHITECTURE.md §3): which deployment should run for each resource
 * there, and whether it should run. The agent converges Docker to the newest version it has received.
 */
export const ServerDesiredState = defineEntity({
  name: 'ServerDesiredState',
  tableName: 'server_desired_states',
  properties: {
    server: () => p.oneToOne(Server).primary().ref().deleteRule('cascade'),
    version: p.integer(),
    document: p.json<DesiredStateDocument>(),
    updatedAt: p.datetime(),
  },
});
export type ServerDesiredState = InferEntity<typeof ServerDesiredState>;

/**
 * One health observation of a resource (seed `resources.health-history/v1`): the `resources.health/v1` summary as it
 * was at `observedAt`, taken by the periodic health job (and by every live health read). Kept for the
 * `runtime-monitoring-samples` retention.
 */
export const HealthObservation = defineEntity({
  name: 'HealthObservation',
  tableName: 'health_observations',
  indexes: [{ properties: ['resourceId', 'observedAt'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    organizationId: p.string().length(40),
    resourceId: p.string().length(40),
    observedAt: p.datetime(),
    overall: p.string().length(20),
    runtimeLifecycle: p.string().length(20),
    runtimeHealth: p.string().length(20),
    publicAccessStatus: p.string().length(20),
    proxyStatus: p.string().length(20),
    healthPolicyStatus: p.string().length(20),
    latestDeploymentId: p.string().length(40).nullable(),
    summary: p.json<Record<string, unknown>>(),
  },
});
export type HealthObservation = InferEntity<typeof HealthObservation>;
