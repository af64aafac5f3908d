import type { OrganizationRole } from './entity.js';

/** A person calling with a login session. */
export interface AuthContext {
  kind: 'user';
  userId: string;
  sessionId: string;
  /** The organization the session acts in; every tenant-owned query is scoped to it. */
  organizationId: string;
  role: OrganizationRole;
}

/** What a deploy token may touch; an empty list means "any in the organization". */
export interface DeployTokenScope {
  deploymentTargetIds: string[];
  environmentIds: string[];
  projectIds: string[];
  repositoryFullNames: string[];
  resourceIds: string[];
  workflowCommands: string[];
}

/** A CI job or tool calling with a deploy token. */
export interface DeployTokenCaller {
  kind: 'deploy-token';
  tokenId: string;
  /** The token's name, as its owner gave it (shown as the caller in current-context). */
  displayName: string;
  organizationId: string;
  scope: DeployTokenScope;
}

/** Who is calling: set on every authenticated request by the auth hook. */
export type Caller = AuthContext | DeployTokenCaller;

/** The login methods Berth offers, in the seed's `loginMethods[]` shape. */
export function loginMethods(adminExists: boolean) {
  return [
    {
      key: 'local-password',
      configured: adminExists,
      enabled: true,
      reason: adminExists
        ? 'Log in with POST /auth/sessions and {email, password}.'
        : 'No user exists yet: create the first admin with POST /bootstrap/auth/first-admin.',
    },
  ];
}

/** What a role may do, in the seed's `permissions{}` shape. */
export function permissionsOf(role: OrganizationRole) {
  const manager = role === 'owner' || role === 'admin';
  return {
    canInviteMembers: manager,
    canListMembers: true,
    canManageDeployTokens: manager,
    canRemoveMembers: manager,
    canTransferOwnership: role === 'owner',
    canUpdateMemberRoles: manager,
  };
}

/** What a deploy token may do in `permissions{}`: it manages nothing in the organization. */
export function deployTokenPermissions() {
  return {
    canInviteMembers: false,
    canListMembers: false,
    canManageDeployTokens: false,
    canRemoveMembers: false,
    canTransferOwnership: false,
    canUpdateMemberRoles: false,
  };
}
