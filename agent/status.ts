import type { LinkState } from './connection/control-stream.js';
import { readJsonFile } from './json-file.js';

/** What `<stateDir>/status.json` holds: the agent's view of its link, for `berth agent status` and operators. */
export interface AgentStatus {
  /** The link state (`idle`, `connecting`, `open`, `backoff`, `revoked`, `stopped`). */
  state: LinkState['t'];
  serverId: string;
  /** The control plane's id for the open session; null unless open. */
  sessionId: string | null;
  /** When the open session began, ISO 8601; null unless open. */
  connectedSince: string | null;
  lastHeartbeatAckAt?: string;
  /** Why the last connection failed (or the revocation reason); null after a successful connect. */
  lastError: string | null;
  /** Reconnect attempts since the link last worked. */
  reconnectAttempt: number;
  /** When the next attempt is due, while in backoff. */
  nextAttemptAt?: string;
  spool: { queued: number; dropped: number };
  /** The agent's process id, so a reader can tell a live status from one left by a crash. */
  pid: number;
  updatedAt: string;
}

/** Derives the status fields that come from the link state; the previous status supplies what a state lacks. */
export function statusFromState(
  state: LinkState,
  previous: AgentStatus,
  now: Date,
  spool: AgentStatus['spool'],
): AgentStatus {
  const base: AgentStatus = {
    ...previous,
    state: state.t,
    sessionId: null,
    connectedSince: null,
    nextAttemptAt: undefined,
    spool,
    updatedAt: now.toISOString(),
  };
  switch (state.t) {
    case 'open':
      return {
        ...base,
        sessionId: state.sessionId,
        connectedSince: state.since.toISOString(),
        lastError: null,
        reconnectAttempt: 0,
      };
    case 'backoff':
      return {
        ...base,
        lastError: state.error,
        reconnectAttempt: state.attempt,
        nextAttemptAt: state.until.toISOString(),
      };
    case 'revoked':
      return { ...base, lastError: `revoked: ${state.reason}` };
    case 'connecting':
      return { ...base, reconnectAttempt: state.attempt };
    case 'idle':
    case 'stopped':
      return base;
  }
}

/** Reads `status.json`; `undefined` when the agent never ran here. */
export async function readStatus(file: string): Promise<AgentStatus | undefined> {
  return (await readJsonFile(file)) as AgentStatus | undefined;
}

/**
 * Whether the status shows a live connection: state `open`, written by a process that still runs. `isAlive`
 * is `process.kill(pid, 0)` in production (EPERM counts as alive: the agent may run as another user).
 */
export function isConnected(status: AgentStatus, isAlive: (pid: number) => boolean): boolean {
  return status.state === 'open' && isAlive(status.pid);
}

/** The status as aligned `label: value` lines for a terminal. */
export function formatStatus(status: AgentStatus, isAlive: (pid: number) => boolean): string {
  // A final state is expected to outlive its process; any other state without its process is stale.
  const stale = status.state !== 'stopped' && status.state !== 'revoked' && !isAlive(status.pid);
  const rows: Array<[string, string | number | null | undefined]> = [
    ['state', stale ? `${status.state} (agent process ${status.pid} is not running)` : status.state],
    ['server', status.serverId],
    ['session', status.sessionId],
    ['connected since', status.connectedSince],
    ['last heartbeat ack', status.lastHeartbeatAckAt],
    ['last error', status.lastError],
    ['reconnect attempt', status.reconnectAttempt || undefined],
    ['next attempt at', status.nextAttemptAt],
    ['spooled events', `${status.spool.queued} queued, ${status.spool.dropped} dropped`],
    ['updated', status.updatedAt],
  ];
  return rows
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([label, value]) => `${`${label}:`.padEnd(20)}${value}`)
    .join('\n');
}
