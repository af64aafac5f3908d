import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Environment } from '../environments/entity.js';
import { Organization } from '../identity/entity.js';
import { Project } from '../projects/entity.js';
import { Resource } from '../resources/entity.js';
import { Server } from '../servers/entity.js';
import type { DeploymentSnapshot } from './snapshot.js';

/** ENUMS.md deploymentStatuses. */
export const deploymentStatuses = [
  'created',
  'planning',
  'planned',
  'running',
  'cancel-requested',
  'succeeded',
  'failed',
  'canceled',
  'interrupted',
  'rolled-back',
] as const;
export type DeploymentStatus = (typeof deploymentStatuses)[number];
/** Statuses after which nothing changes any more. */
export const terminalStatuses: readonly DeploymentStatus[] = [
  'succeeded',
  'failed',
  'canceled',
  'interrupted',
  'rolled-back',
];
/** Statuses of a deployment still under way: a resource has at most one (docs/deployments.md). */
export const activeStatuses: readonly DeploymentStatus[] = [
  'created',
  'planning',
  'planned',
  'running',
  'cancel-requested',
];
export const triggerKinds = ['create', 'retry', 'redeploy', 'rollback'] as const;

/**
 * One attempt to run a resource on a server: an immutable snapshot of the resource's configuration taken at
 * creation, carried out by the agent. The environment's values are stored sealed as one document (`sealedEnv`),
 * opened only to build the agent's command when it goes on the wire.
 */
export const Deployment = defineEntity({
  name: 'Deployment',
  tableName: 'deployments',
  indexes: [
    { properties: ['resource', 'createdAt'] },
    { properties: ['organization', 'createdAt'] },
    { properties: ['status'] },
  ],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    project: () => p.manyToOne(Project).ref().deleteRule('cascade'),
    environment: () => p.manyToOne(Environment).ref().deleteRule('cascade'),
    resource: () => p.manyToOne(Resource).ref().deleteRule('cascade'),
    server: () => p.manyToOne(Server).ref().deleteRule('cascade'),
    status: p.enum([...deploymentStatuses]),
    triggerKind: p.enum([...triggerKinds]),
    sourceDeploymentId: p.string().nullable(),
    rollbackOfDeploymentId: p.string().nullable(),
    snapshot: p.json<DeploymentSnapshot>(),
    sealedEnv: p.text(),
    commandId: p.string().nullable(),
    cancelCommandId: p.string().nullable(),
    errorCode: p.string().length(60).nullable(),
    errorMessage: p.text().nullable(),
    /** Where the container answers directly, as its agent reported it (a loopback or host port). */
    directUrl: p.string().length(300).nullable(),
    /** Where users reach it: its domain binding's or generated name through the edge proxy, when one routes it. */
    publicUrl: p.string().length(300).nullable(),
    containerName: p.string().length(200).nullable(),
    createdAt: p.datetime(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    canceledAt: p.datetime().nullable(),
    archivedAt: p.datetime().nullable(),
    deadlineAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type Deployment = InferEntity<typeof Deployment>;

/**
 * One numbered step of a deployment. The global `id` (a bigserial) is the stream cursor: events of one deployment
 * are read in `id` order, and a client resuming after cursor N sees exactly the events after N.
 */
export const DeploymentEvent = defineEntity({
  name: 'DeploymentEvent',
  tableName: 'deployment_events',
  uniques: [{ properties: ['deployment', 'sequence'] }],
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    deployment: () => p.manyToOne(Deployment).ref().deleteRule('cascade'),
    sequence: p.integer(),
    eventType: p.string().length(80),
    source: p.string().length(40),
    phase: p.string().length(40),
    status: p.string().length(40),
    retriable: p.boolean(),
    summary: p.text(),
    emittedAt: p.datetime(),
  },
});
export type DeploymentEvent = InferEntity<typeof DeploymentEvent>;

/** One line of a deployment's log: Berth's own steps and the container's output while it was verified. */
export const DeploymentLogLine = defineEntity({
  name: 'DeploymentLogLine',
  tableName: 'deployment_log_lines',
  indexes: [{ properties: ['deployment', 'id'] }],
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    deployment: () => p.manyToOne(Deployment).ref().deleteRule('cascade'),
    timestamp: p.datetime(),
    source: p.string().length(40),
    phase: p.string().length(40),
    level: p.string().length(10),
    message: p.text(),
    masked: p.boolean(),
  },
});
export type DeploymentLogLine = InferEntity<typeof DeploymentLogLine>;
