import { Type } from 'typebox';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const Flag = Type.Boolean({ description: 'true/false (also 1/0)' });

export const ResourceParams = Type.Object({ resourceId: Id });
export const ArchiveParams = Type.Object({ archiveId: Id });

export const LogQuery = Type.Object({
  deploymentId: Type.Optional(Id),
  serviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  tailLines: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 1000, default: 100, description: 'The last lines to start with.' }),
  ),
  since: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 40,
      description: 'Only lines written since: an ISO 8601 instant, or a duration back from now (30s, 15m, 2h, 7d).',
    }),
  ),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 20, description: "Lines after this one (a line's `cursor`)." }),
  ),
  follow: Type.Optional(
    Type.Union([Flag, Type.String()], { description: 'The stream: keep following (default true).' }),
  ),
});

const Line = Type.Object({
  resourceId: Type.String(),
  deploymentId: Type.String(),
  serviceName: Type.String(),
  runtimeKind: Type.String(),
  runtimeInstanceId: Type.String({ description: "The container's short id." }),
  stream: Type.Enum(['stdout', 'stderr']),
  timestamp: Type.String(),
  sequence: Type.Integer({ description: "The line's number in its container's output." }),
  cursor: Type.String(),
  message: Type.String(),
  masked: Type.Boolean({ description: 'A secret value of the deployment was replaced by ****.' }),
});

export const LogList = Type.Object({
  resourceId: Type.String(),
  deploymentId: NullableString,
  logs: Type.Array(Line),
});

export const logStream = {
  description:
    "Server-Sent Events: each `data:` is a resources.runtime-logs.stream/v1 envelope (`line`, `heartbeat`, `closed`) and each line frame's `id:` its cursor (resume with Last-Event-ID).",
  content: { 'text/event-stream': { schema: { type: 'string' } } },
};

const ArchiveSummary = {
  archiveId: Type.String(),
  resourceId: Type.String(),
  deploymentId: Type.String(),
  serverId: Type.String(),
  serviceName: Type.String(),
  runtimeKind: Type.String(),
  capturedAt: Type.String(),
  lineCount: Type.Integer(),
  retentionStatus: Type.Enum(['retained']),
  reason: Type.String(),
};
const Archive = Type.Object({ ...ArchiveSummary, lines: Type.Array(Line) });

export const ArchiveBody = Type.Object(
  {
    deploymentId: Type.Optional(Id),
    serviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    tailLines: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export const ArchiveCreated = Type.Object({
  schemaVersion: Type.Literal('resources.runtime-logs.archive/v1'),
  archive: Archive,
});
export const ArchiveShow = Type.Object({
  schemaVersion: Type.Literal('resources.runtime-log-archives.show/v1'),
  archive: Archive,
});
export const ArchiveListQuery = Type.Object({
  resourceId: Type.Optional(Id),
  deploymentId: Type.Optional(Id),
  serverId: Type.Optional(Id),
  serviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Id),
});
export const ArchiveList = Type.Object({
  schemaVersion: Type.Literal('resources.runtime-log-archives.list/v1'),
  items: Type.Array(Type.Object(ArchiveSummary)),
  nextCursor: NullableString,
  generatedAt: Type.String(),
});
export const ArchivePruneBody = Type.Object(
  {
    before: Type.String({ format: 'date-time' }),
    resourceId: Type.Optional(Id),
    deploymentId: Type.Optional(Id),
    serverId: Type.Optional(Id),
    serviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    dryRun: Type.Optional(Type.Boolean({ description: 'Default true: only counts. false deletes.' })),
  },
  { additionalProperties: false },
);
export const ArchivePruned = Type.Object({
  schemaVersion: Type.Literal('resources.runtime-log-archives.prune/v1'),
  before: Type.String(),
  resourceId: NullableString,
  deploymentId: NullableString,
  serverId: NullableString,
  serviceName: NullableString,
  dryRun: Type.Boolean(),
  matchedCount: Type.Integer(),
  prunedCount: Type.Integer(),
  affectedResourceCount: Type.Integer(),
  prunedAt: Type.String(),
});
