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
