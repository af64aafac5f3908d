import { type Static, Type } from 'typebox';

/**
 * `terminal.open`: start a shell for a terminal session and carry it on a `Terminal` stream named by the session
 * id. In a resource's container (`docker exec` with a TTY) or, for an admin, on the server itself.
 */
export const TerminalOpenPayloadSchema = Type.Object({
  sessionId: Type.String({ minLength: 1 }),
  target: Type.Union([
    Type.Object({ kind: Type.Literal('container'), deploymentId: Type.String({ minLength: 1 }) }),
    Type.Object({ kind: Type.Literal('server') }),
  ]),
  rows: Type.Integer({ minimum: 1, maximum: 500 }),
  cols: Type.Integer({ minimum: 1, maximum: 1000 }),
});
export type TerminalOpenPayload = Static<typeof TerminalOpenPayloadSchema>;

/** What `terminal.open` answers once the shell runs and its stream is open. */
export const TerminalOpenResultSchema = Type.Object({
  started: Type.Boolean(),
  /** The container's name, or the host's name for a server terminal. */
  target: Type.String(),
  /** Whether the shell has a TTY (a container exec does; a server shell runs under `script`). */
  tty: Type.Boolean(),
  workingDirectory: Type.String(),
});
export type TerminalOpenResult = Static<typeof TerminalOpenResultSchema>;
