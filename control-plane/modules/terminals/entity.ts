import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../identity/entity.js';

/** Where a session's shell runs. */
export const terminalScopes = ['server', 'resource'] as const;
/** `pending` until its WebSocket attaches; `active` while the shell runs; then `closed`, `expired` or `failed`. */
export const terminalStatuses = ['pending', 'active', 'closed', 'expired', 'failed'] as const;

/**
 * One terminal session (seed `terminal-sessions.*`): who opened it, where, when it was attached and how it ended.
 * What was typed or printed is never stored, only how many bytes went each way.
 */
export const TerminalSession = defineEntity({
  name: 'TerminalSession',
  tableName: 'terminal_sessions',
  indexes: [{ properties: ['organization', 'createdAt'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    scope: p.enum([...terminalScopes]),
    serverId: p.string().length(40),
    resourceId: p.string().length(40).nullable(),
    deploymentId: p.string().length(40).nullable(),
    openedByUserId: p.string().length(60),
    rows: p.integer(),
    cols: p.integer(),
    status: p.enum([...terminalStatuses]),
    target: p.string().length(200).nullable(),
    workingDirectory: p.string().length(200),
    createdAt: p.datetime(),
    attachedAt: p.datetime().nullable(),
    lastActivityAt: p.datetime(),
    closedAt: p.datetime().nullable(),
    closeReason: p.string().length(200).nullable(),
    exitCode: p.integer().nullable(),
    bytesIn: p.bigint('number').default(0),
    bytesOut: p.bigint('number').default(0),
  },
});
export type TerminalSession = InferEntity<typeof TerminalSession>;
