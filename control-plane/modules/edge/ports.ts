import type { EntityManager } from '@mikro-orm/postgresql';
import type { EdgeCertificate, EdgeInspectResult, EdgeRoute } from '../../../shared/edge-command.js';

/**
 * What the edge module needs from the modules that own host names (domain bindings, certificates) and what it offers
 * them, so neither reads the other's tables.
 */

/** A domain binding's route as the binding owner states it; the edge module adds the resource's container port. */
export type BindingEdgeRoute = Omit<EdgeRoute, 'targetPort'>;

/** An imported certificate a server must load, without its key (added as the command is sent). */
export type EdgeCertificateRef = Omit<EdgeCertificate, 'keyPem'>;

/** Supplied by the domain-bindings and certificates modules. */
export interface EdgeRouteSource {
  /** The binding routes and imported certificates that `serverId` must serve now. */
  edgeOf(
    em: EntityManager,
    serverId: string,
  ): Promise<{ routes: BindingEdgeRoute[]; certificates: EdgeCertificateRef[] }>;
  /** The PEM private key of an imported certificate (unsealed), or null when it is gone. */
  privateKeyOf(em: EntityManager, certificateId: string): Promise<string | null>;
}

/** Supplied by the edge module. */
export interface EdgePublisher {
  /**
   * Recomputes the edge document of `serverId` and queues an `edge.sync` when it changed (in `em`'s transaction when
   * there is one). Never throws for an unreachable agent: the server's edgeProxy status says `pending` with the reason.
   */
  publish(em: EntityManager, serverId: string): Promise<void>;
}

/** Supplied by the edge module: asks the server's agent what Caddy serves now. */
export interface EdgeInspector {
  /**
   * Runs `edge.inspect` on the server's agent and waits for it (bounded). `reachable: false` in the result is Caddy
   * not answering; an agent that does not answer is `{ ok: false, code, message }`.
   */
  inspect(
    serverId: string,
    request: { tlsHostnames: string[]; resourceIds?: string[] },
  ): Promise<{ ok: true; result: EdgeInspectResult } | { ok: false; code: string; message: string }>;
}
