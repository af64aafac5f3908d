import { Type } from 'typebox';

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

/** `POST /bootstrap/auth/first-admin` body. */
export const FirstAdminBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 320 }),
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
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
  generatedPassword: Type.String({ description: 'The password, returned once and stored only as a slow hash.' }),
  loginUrl: Type.String(),
});

const OrganizationSummary = Type.Object({
  organizationId: Type.String(),
  name: Type.String(),
  slug: Type.String(),
  role: Type.String({ examples: ['owner'] }),
});

/** `GET /organizations/current-context` response. */
export const CurrentContext = Type.Object({
  user: Type.Object({
    userId: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    avatarUrl: Type.Union([Type.String(), Type.Null()]),
  }),
  currentOrganization: OrganizationSummary,
  organizations: Type.Array(OrganizationSummary),
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
