import { commandKind } from '../../../shared/command-catalogue.js';
import type { EdgeSyncPayload, EdgeSyncQueued } from '../../../shared/edge-command.js';
import type { AgentLinkHooks } from '../../agent-gateway/hooks.js';
import type { EdgeService } from './service.js';

/**
 * The edge module's side of the agent link: the private keys of imported certificates are added to `edge.sync` as it
 * goes on the wire (they are stored sealed and never queued in the clear), and every finished command is recorded
 * or may change what the server must serve.
 */
export function edgeHooks(edge: EdgeService): AgentLinkHooks {
  return {
    async expandPayload(em, command) {
      if (command.kind !== commandKind.edgeSync) return command.payload;
      const queued = command.payload as EdgeSyncQueued;
      const certificates: EdgeSyncPayload['certificates'] = [];
      for (const certificate of queued.certificates) {
        const keyPem = (await edge.routeSource?.privateKeyOf(em, certificate.certificateId)) ?? null;
        // A certificate deleted since it was queued is left out; its hosts fall back to ACME or to none.
        if (keyPem !== null) certificates.push({ ...certificate, keyPem });
      }
      const payload: EdgeSyncPayload = { ...queued, certificates };
      return payload;
    },
    onCommandCompleted: (em, commandId) => edge.onCommandCompleted(em, commandId),
  };
}
