import { Type } from 'typebox';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const Open = Type.Object({}, { additionalProperties: true });

export const ServerParams = Type.Object({ serverId: Type.String({ minLength: 1, maxLength: 100 }) });
export const ResourceParams = Type.Object({ resourceId: Type.String({ minLength: 1, maxLength: 100 }) });

export const ConfigureBody = Type.Object(
  {
    proxyKind: Type.Enum(['none', 'traefik', 'caddy'], {
      description: 'caddy: Berth programs Caddy; none: no edge proxy; traefik: stored, reported failed (unsupported).',
    }),
    serverId: Type.Optional(Type.String()),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const Configured = Type.Object({
  id: Type.String(),
  edgeProxy: Type.Object({ kind: Type.String(), status: Type.String({ examples: ['pending'] }) }),
});

export const BootstrapBody = Type.Object(
  { serverId: Type.Optional(Type.String()), idempotencyKey: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);

export const BootstrapStarted = Type.Object({ serverId: Type.String(), attemptId: Type.String() });

export const ProxyConfigurationQuery = Type.Object({
  deploymentId: Type.Optional(Type.String({ minLength: 1 })),
  routeScope: Type.Optional(Type.Enum(['planned', 'latest', 'deployment-snapshot'], { default: 'latest' })),
  includeDiagnostics: Type.Optional(Type.Boolean({ description: 'true/false (also 1/0)' })),
});

export const ProxyConfiguration = Type.Object({
  resourceId: Type.String(),
  deploymentId: NullableString,
  providerKey: Type.String(),
  routeScope: Type.String(),
  status: Type.Enum(['not-configured', 'planned', 'applied', 'stale', 'failed']),
  generatedAt: Type.String(),
  lastAppliedDeploymentId: NullableString,
  stale: Type.Boolean(),
  routes: Type.Array(Open),
  sections: Type.Array(Open),
  warnings: Type.Array(Open),
  diagnostics: Type.Union([Open, Type.Null()]),
});
