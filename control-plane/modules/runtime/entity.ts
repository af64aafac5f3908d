import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { DesiredStateDocument } from '../../../shared/runtime-command.js';
import { Server } from '../servers/entity.js';

/**
 * The versioned desired state of one server (ARCHITECTURE.md §3): which deployment should run for each resource
 * there, and whether it should run. The agent converges Docker to the newest version it has received.
 */
export const ServerDesiredState = defineEntity({
  name: 'ServerDesiredState',
  tableName: 'server_desired_states',
  properties: {
    server: () => p.oneToOne(Server).primary().ref().deleteRule('cascade'),
    version: p.integer(),
    document: p.json<DesiredStateDocument>(),
    updatedAt: p.datetime(),
  },
});
export type ServerDesiredState = InferEntity<typeof ServerDesiredState>;
