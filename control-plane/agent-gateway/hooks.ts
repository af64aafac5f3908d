import type { EntityManager } from '@mikro-orm/postgresql';
import type { PayloadExpander } from '../modules/agent-commands/delivery.js';

/**
 * What the domain modules plug into the agent link, so the gateway stays ignorant of deployments: payloads filled
 * in as commands go on the wire, agent events, finished commands, and a periodic sweep.
 */
export interface AgentLinkHooks {
  /**
   * The payload to send for a stored command. The stored payload never holds secrets; a hook may add them here,
   * just before the command is written on the (mutually authenticated, encrypted) stream.
   */
  expandPayload?: PayloadExpander;
  /** An event the agent reported (spooled ones arrive late, with their own observedAt). */
  onEvent?(
    em: EntityManager,
    serverId: string,
    event: { kind: string; observedAt: Date; attributes: Record<string, string> },
  ): Promise<void>;
  /** A command's outcome was stored (succeeded or failed). */
  onCommandCompleted?(em: EntityManager, commandId: string): Promise<void>;
  /** The server's current desired state; sent after the Welcome and again whenever its version grows. */
  desiredState?(em: EntityManager, serverId: string): Promise<{ version: number; document: unknown } | null>;
  /** Runs with the gateway's sweeps, about once a second. */
  onSweep?(em: EntityManager): Promise<unknown>;
}

/**
 * One set of hooks from several modules' sets: payloads pass through every expander in turn (each fills in only its
 * own kinds), events, completions and sweeps reach every module in order, and the first module that has a desired
 * state provides it.
 */
export function combineHooks(...parts: AgentLinkHooks[]): AgentLinkHooks {
  const expanders = parts.flatMap((p) => (p.expandPayload ? [p.expandPayload] : []));
  const desiredState = parts.find((p) => p.desiredState)?.desiredState;
  return {
    async expandPayload(em, command) {
      let payload = command.payload;
      for (const expand of expanders) payload = await expand(em, { kind: command.kind, payload });
      return payload;
    },
    async onEvent(em, serverId, event) {
      for (const part of parts) await part.onEvent?.(em, serverId, event);
    },
    async onCommandCompleted(em, commandId) {
      for (const part of parts) await part.onCommandCompleted?.(em, commandId);
    },
    async onSweep(em) {
      for (const part of parts) await part.onSweep?.(em);
    },
    ...(desiredState ? { desiredState } : {}),
  };
}
