import { Type } from 'typebox';
import { Scope } from '../deploy-tokens/schema.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);

const LoginMethod = Type.Object({
  key: Type.String({ examples: ['local-password'] }),
  configured: Type.Boolean(),
  enabled: Type.Boolean(),
  reason: Type.String(),
});

/** `GET /bootstrap/auth/status` response. */
export const BootstrapStatus = Type.Object({
  bootstrapRequired: Type.Boolean({ description: 'True until the first admin exists.' }),
  firstAdminConfigured: Type.Boolean(),
  organizationConfigured: Type.Boolean(),
  loginMethods: Type.Array(LoginMethod),
  firstAdminEmail: Type.Union([Type.String(), Type.Null()], {
    description: "The first admin's email; only shown to an authenticated caller.",
  }),
  loginUrl: Type.String({ description: 'Where to log in (the API login endpoint).' }),
  organizationId: Type.Union([Type.String(), Type.Null()]),
  organizationSlug: Type.Union([Type.String(), Type.Null()]),
  nextSteps: Type.Array(Type.String()),
});

/** Length policy of a chosen password, in characters. */
export const passwordPolicy = { minLength: 12, maxLength: 256 } as const;
/** What a chosen organization slug looks like: the same form as every slug Berth derives from a name. */
export const organizationSlugPattern = '^[a-z0-9]+(-[a-z0-9]+)*$';

/** `POST /bootstrap/auth/first-admin` body. */
export const FirstAdminBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 320 }),
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
    password: Type.Optional(
      Type.String({
        // The policy is checked by the service, so the refusal carries a hint; this only bounds the input.
        maxLength: 4096,
        writeOnly: true,
        description: `${passwordPolicy.minLength}–${passwordPolicy.maxLength} characters. Omitted: Berth generates one and returns it once.`,
      }),
    ),
    organizationName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Default: "Default organization".' }),
    ),
    organizationSlug: Type.Optional(
      Type.String({
        maxLength: 60,
        description:
          'Lower-case letters, digits and single hyphens, e.g. `acme`. Default: from organizationName, else `default`.',
      }),
    ),
    idempotencyKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'Repeating the request with the same key and body answers the first answer again (without a generated password).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /bootstrap/auth/first-admin` response; `generatedPassword` is shown this once only. */
export const FirstAdminResult = Type.Object({
  bootstrapRequired: Type.Boolean(),
  created: Type.Boolean(),
  email: Type.String(),
  loginMethods: Type.Array(LoginMethod),
  organizationId: Type.String(),
  organizationSlug: Type.String(),
  userId: Type.String(),
  generatedPassword: Type.Optional(
    Type.String({
      description:
        'Only when no password was sent: the generated password, returned once and stored only as a slow hash.',
    }),
  ),
  loginUrl: Type.String(),
});

const OrganizationSummary = Type.Object({
  organizationId: Type.String(),
  name: Type.String(),
  slug: Type.String(),
  role: Type.String({
    examples: ['owner'],
    description: "The caller's role (owner, admin, member, viewer), or `deploy-token` when a deploy token calls.",
  }),
});

/** `GET /organizations/current-context` response, for a user or (limited to its organization) a deploy token. */
export const CurrentContext = Type.Object({
  user: Type.Object(
    {
      userId: NullableString,
      email: NullableString,
      displayName: Type.String(),
      avatarUrl: NullableString,
    },
    { description: "The person calling; for a deploy token userId and email are null and displayName is the token's." },
  ),
  actor: Type.Object(
    {
      kind: Type.Enum(['user', 'deploy-token']),
      id: Type.String({ description: 'The userId, or the tokenId of a deploy token.' }),
      scope: Type.Optional(Scope),
    },
    { description: 'Who is calling; a deploy token also shows its scope.' },
  ),
  currentOrganization: OrganizationSummary,
  organizations: Type.Array(OrganizationSummary, {
    description: "A user's organizations; for a deploy token only the token's own.",
  }),
  loginMethods: Type.Array(LoginMethod),
  permissions: Type.Object({
    canInviteMembers: Type.Boolean(),
    canListMembers: Type.Boolean(),
    canManageDeployTokens: Type.Boolean(),
    canRemoveMembers: Type.Boolean(),
    canTransferOwnership: Type.Boolean(),
    canUpdateMemberRoles: Type.Boolean(),
  }),
});
