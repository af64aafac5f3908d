import type {
  EdgeBootstrapResult,
  EdgeInspectPayload,
  EdgeInspectResult,
  EdgeSyncPayload,
  EdgeSyncResult,
} from '../../shared/edge-command.js';
import { CaddyBootstrapError } from '../edge/bootstrap.js';
import { CaddyAdminError } from '../edge/caddy-admin.js';
import type { CaddyEdge } from '../edge/caddy-edge.js';
import type { CommandOutcome } from './index.js';

/** The edge proxy the handlers drive; absent in agents built without one (tests of the link). */
export type EdgeDeps = Pick<CaddyEdge, 'sync' | 'bootstrap' | 'inspect'>;

/**
 * Turns a failure of the edge into a command outcome with a stable code: Caddy not answering or refusing
 * (`proxy_unavailable`, `proxy_rejected`), no binary or a start that failed (`proxy_binary_missing`,
 * `proxy_start_failed`), a document the agent cannot express (`invalid_payload`). Anything else is a bug and is
 * thrown on, for the runner's `handler_failed`.
 */
async function outcome<T>(operation: () => Promise<T>): Promise<CommandOutcome<T>> {
  try {
    return { succeeded: true, result: await operation() };
  } catch (error) {
    if (error instanceof CaddyAdminError || error instanceof CaddyBootstrapError) {
      return { succeeded: false, errorCode: error.code, errorMessage: error.message };
    }
    // upstream.ts refuses a resource id that is no DNS label; the catalogue's schema lets such ids through.
    if (error instanceof RangeError)
      return { succeeded: false, errorCode: 'invalid_payload', errorMessage: error.message };
    throw error;
  }
}

function unsupported(): CommandOutcome<never> {
  return { succeeded: false, errorCode: 'unsupported', errorMessage: 'this agent does not manage the edge proxy' };
}

/** `edge.sync`: serve the document in Caddy (diff-only); see agent/edge/caddy-edge.ts. */
export function handleEdgeSync(payload: EdgeSyncPayload, edge: EdgeDeps | undefined) {
  return edge ? outcome<EdgeSyncResult>(() => edge.sync(payload)) : Promise.resolve(unsupported());
}

/** `edge.bootstrap`: adopt the Caddy on the admin URL, or start one from the host's binary. */
export function handleEdgeBootstrap(edge: EdgeDeps | undefined) {
  return edge ? outcome<EdgeBootstrapResult>(() => edge.bootstrap()) : Promise.resolve(unsupported());
}

/** `edge.inspect`: what Caddy serves; an unreachable Caddy is a success with `reachable: false`. */
export function handleEdgeInspect(payload: EdgeInspectPayload, edge: EdgeDeps | undefined) {
  return edge ? outcome<EdgeInspectResult>(() => edge.inspect(payload)) : Promise.resolve(unsupported());
}
