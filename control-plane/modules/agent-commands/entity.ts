import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Server } from '../servers/entity.js';

/** A command's states: persisted before it is sent, ended exactly once. */
export const commandStates = ['queued', 'sent', 'acknowledged', 'succeeded', 'failed', 'expired'] as const;
export type CommandState = (typeof commandStates)[number];

/** One command for one server's agent (ARCHITECTURE.md §3). */
export const AgentCommand = defineEntity({
  name: 'AgentCommand',
  tableName: 'agent_commands',
  indexes: [{ properties: ['server', 'state'] }],
  properties: {
    id: p.string().primary(),
    server: () => p.manyToOne(Server).ref().deleteRule('cascade'),
    kind: p.string().length(60),
    payload: p.json<Record<string, unknown>>(),
    state: p.enum([...commandStates]).default('queued'),
    issuedAt: p.datetime(),
    deadline: p.datetime(),
    sentAt: p.datetime().nullable(),
    sendCount: p.integer().default(0),
    acknowledgedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    result: p.json<unknown>().nullable(),
    errorCode: p.string().length(60).nullable(),
    errorMessage: p.text().nullable(),
  },
});
export type AgentCommand = InferEntity<typeof AgentCommand>;
