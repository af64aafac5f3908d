/** What went wrong with one Docker engine call, read from a docker-modem or socket error. */
export interface EngineFailure {
  /** The engine's HTTP status, or null when it never answered. */
  status: number | null;
  /** The engine's own message (`No such image: …`), or the socket error's. */
  reason: string;
  /** True when the engine could not be reached at all (no socket, refused, permission denied). */
  unavailable: boolean;
}

// Errors on the way to the engine rather than answers from it.
const unreachableCodes = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Classifies an error thrown by a dockerode call. */
export function engineFailure(error: unknown): EngineFailure {
  const fields = (error ?? {}) as { statusCode?: unknown; json?: unknown; code?: unknown; message?: unknown };
  const status = typeof fields.statusCode === 'number' ? fields.statusCode : null;
  const json = fields.json as { message?: unknown } | string | null | undefined;
  const engineMessage = typeof json === 'string' ? json : typeof json?.message === 'string' ? json.message : null;
  // docker-modem keeps no parsed body for streaming calls (pull, build, logs); the engine's message is then only
  // in its own `(HTTP code 500) server error - <message>` wording.
  const message = typeof fields.message === 'string' ? fields.message.replace(/^\(HTTP code \d+\) .*? - /, '') : null;
  const reason = (engineMessage ?? message ?? String(error)).trim();
  const unavailable = status === null && typeof fields.code === 'string' && unreachableCodes.has(fields.code);
  return { status, reason, unavailable };
}

/** True when the engine answered with `status` (404 for a missing container or image, 409 for a name clash). */
export function hasEngineStatus(error: unknown, status: number): boolean {
  return engineFailure(error).status === status;
}
