import { Type } from 'typebox';
import { deploymentStatuses, triggerKinds } from './entity.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const Flag = Type.Boolean({ description: 'true/false (also 1/0)' });
// Nested read models whose shape is the seed's; documented in docs/deployments.md.
const Section = Type.Unknown();

export const DeploymentParams = Type.Object({ deploymentId: Id });
export const ResourceParams = Type.Object({ resourceId: Id });

export const DeployBody = Type.Object(
  {
    projectId: Id,
    environmentId: Id,
    resourceId: Id,
    serverId: Id,
    executionMode: Type.Optional(
      Type.Enum(['detached', 'synchronous'], {
        description:
          '`detached` (default) answers at once; `synchronous` answers when the deployment has ended (or after 10 minutes, with its status then).',
      }),
    ),
    idempotencyKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Accepted; a second deployment of a resource while one runs is refused anyway.',
      }),
    ),
  },
  { additionalProperties: false },
);
export const RedeployBody = Type.Object(
  { serverId: Type.Optional(Id) },
  { additionalProperties: false, description: 'Defaults to the server of the latest deployment.' },
);
export const EmptyBody = Type.Object({}, { additionalProperties: false });
export const RollbackBody = Type.Object(
  { rollbackCandidateDeploymentId: Type.Optional(Id) },
  { additionalProperties: false, description: 'Defaults to the latest earlier successful deployment of the resource.' },
);
export const ConfirmBody = Type.Object(
  { confirm: Type.String({ minLength: 1, description: "Must repeat the deployment's id." }) },
  { additionalProperties: false },
);

export const ListQuery = Type.Object({
  projectId: Type.Optional(Id),
  resourceId: Type.Optional(Id),
  status: Type.Optional(Type.Enum(deploymentStatuses)),
  statuses: Type.Optional(Type.String({ maxLength: 300, description: 'Comma-separated statuses.' })),
  includeArchived: Type.Optional(Flag),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
});
export const EventsQuery = Type.Object({
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 40, pattern: '^[0-9]+$' })),
  historyLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 200, default: 100 })),
  includeHistory: Type.Optional(Flag),
  follow: Type.Optional(Flag),
  untilTerminal: Type.Optional(Flag),
});

export const DeploymentView = Type.Object(
  {
    id: Type.String(),
    projectId: Type.String(),
    environmentId: Type.String(),
    resourceId: Type.String(),
    serverId: Type.String(),
    destinationId: NullableString,
    status: Type.Enum(deploymentStatuses),
    triggerKind: Type.Enum(triggerKinds),
    sourceDeploymentId: NullableString,
    rollbackCandidateDeploymentId: NullableString,
    rollbackOfDeploymentId: NullableString,
    sourceCommitSha: NullableString,
    runtimePlan: Section,
    environmentSnapshot: Section,
    dependencyBindingReferences: Type.Array(Section),
    logCount: Type.Integer(),
    accessUrl: Type.Union([
      Type.String({
        description:
          'Where users reach the deployment once it succeeded: through the edge proxy (its domain, else its generated name) when a route serves it, else directUrl.',
      }),
      Type.Null(),
    ]),
    directUrl: Type.Union([
      Type.String({ description: "Where the container answers directly (the agent's loopback or host port)." }),
      Type.Null(),
    ]),
    errorCode: NullableString,
    errorMessage: NullableString,
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: NullableTimestamp,
    finishedAt: NullableTimestamp,
    archivedAt: NullableTimestamp,
  },
  { additionalProperties: true },
);
export const LogEntry = Type.Object({
  timestamp: Type.String({ format: 'date-time' }),
  source: Type.String(),
  phase: Type.String(),
  level: Type.String(),
  message: Type.String(),
  masked: Type.Boolean(),
});
export const DeploymentList = Type.Object({
  items: Type.Array(Type.Intersect([DeploymentView, Type.Object({ logs: Type.Array(LogEntry) })])),
});
export const DeploymentShow = Type.Object({
  schemaVersion: Type.Literal('deployments.show/v1'),
  deployment: DeploymentView,
  status: Section,
  relatedContext: Section,
  snapshot: Section,
  timeline: Section,
  latestFailure: Section,
  recoverySummary: Section,
  nextActions: Type.Array(Type.String()),
  sectionErrors: Type.Array(Section),
  generatedAt: Type.String({ format: 'date-time' }),
});
export const Envelope = Type.Object({
  schemaVersion: Type.Literal('deployments.stream-events/v1'),
  kind: Type.String({ examples: ['event'] }),
  event: Type.Object({
    deploymentId: Type.String(),
    sequence: Type.Integer(),
    cursor: Type.String(),
    emittedAt: Type.String({ format: 'date-time' }),
    source: Type.String(),
    eventType: Type.String(),
    phase: Type.String(),
    status: Type.String(),
    retriable: Type.Boolean(),
    summary: Type.String(),
  }),
});
export const EventList = Type.Object({
  deploymentId: Type.String(),
  envelopes: Type.Array(Envelope),
  nextCursor: NullableString,
});
export const Logs = Type.Object({ deploymentId: Type.String(), logs: Type.Array(LogEntry) });
export const CancelResult = Type.Object({
  id: Type.String(),
  status: Type.Enum(deploymentStatuses),
  canceledAt: Type.String({ format: 'date-time' }),
});
export const IdResult = Type.Object({ id: Type.String() });
export const DeployResult = Type.Object({
  id: Type.String(),
  status: Type.Optional(
    Type.Enum(deploymentStatuses, { description: 'With executionMode synchronous: the status it ended with.' }),
  ),
});
export const CountResult = Type.Object({ count: Type.Integer() });
/** An SSE response, documented under its own media type (errors before the stream starts stay JSON envelopes). */
export const eventStream = {
  description: 'Server-Sent Events: each `data:` is a deployments.stream-events/v1 envelope and each `id:` its cursor.',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
};

export const PlanQuery = Type.Object({
  projectId: Id,
  environmentId: Id,
  resourceId: Id,
  serverId: Id,
  destinationId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Refused: Berth has none.' })),
  includeAccessPlan: Type.Optional(Flag),
  includeCommandSpecs: Type.Optional(Flag),
});
/** `deployments.plan/v1`; the sections' shapes are the seed's, documented in docs/deployments.md. */
export const PlanResult = Type.Object({
  schemaVersion: Type.Literal('deployments.plan/v1'),
  context: Section,
  readiness: Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('blocked')]),
    ready: Type.Boolean(),
    reasonCodes: Type.Array(Type.String()),
  }),
  source: Section,
  planner: Section,
  buildpack: Section,
  artifact: Section,
  commands: Type.Array(Section),
  network: Section,
  health: Section,
  access: Section,
  dependencyBindings: Section,
  warnings: Type.Array(Section),
  unsupportedReasons: Type.Array(Section),
  nextActions: Type.Array(Section),
  runtimePlan: Section,
  environmentSnapshot: Section,
  generatedAt: Type.String({ format: 'date-time' }),
});
export const RecoveryQuery = Type.Object({
  resourceId: Type.Optional(Id),
  includeCandidates: Type.Optional(Flag),
  maxCandidates: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});
/** `deployments.recovery-readiness/v1`. */
export const RecoveryReadiness = Type.Object({
  schemaVersion: Type.Literal('deployments.recovery-readiness/v1'),
  deploymentId: Type.String(),
  resourceId: Type.String(),
  generatedAt: Type.String({ format: 'date-time' }),
  stateVersion: Type.String(),
  recoverable: Type.Boolean(),
  retryable: Type.Boolean(),
  redeployable: Type.Boolean(),
  rollbackReady: Type.Boolean(),
  rollbackCandidateCount: Type.Integer(),
  retry: Section,
  redeploy: Section,
  rollback: Section,
  recommendedActions: Type.Array(Section),
});
export const ArchiveResult = Type.Object({ id: Type.String(), archivedAt: Type.String({ format: 'date-time' }) });
