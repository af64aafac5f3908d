import { AppError } from '../../../shared/errors.js';
import type { Caller } from './auth-context.js';

/** What a deploy token's read is about: the project it belongs to and, where there is one, its environment and resource. */
export interface ScopeTarget {
  projectId: string;
  environmentId?: string;
  resourceId?: string;
}

const listed = (ids: string[], id: string | undefined) => id === undefined || ids.length === 0 || ids.includes(id);

/** True when the caller may see the target: users always; a deploy token when every restricted list includes it. */
export function inScope(auth: Caller, target: ScopeTarget): boolean {
  if (auth.kind !== 'deploy-token') return true;
  const { projectIds, environmentIds, resourceIds } = auth.scope;
  return (
    listed(projectIds, target.projectId) &&
    listed(environmentIds, target.environmentId) &&
    listed(resourceIds, target.resourceId)
  );
}

/** Throws `FORBIDDEN_SCOPE` when a deploy token's scope does not include the target. */
export function requireInScope(auth: Caller, target: ScopeTarget, what: string): void {
  if (inScope(auth, target)) return;
  throw new AppError('forbidden_scope', `This deploy token's scope does not include ${what}.`, {
    hint: 'Use a token whose scope lists it (or leaves that list empty), or log in as a user.',
  });
}
