/**
 * The NOTIFY channels of the command life cycle (see control-plane/db/notify-hub.ts). Payloads are ids, never
 * data: a listener re-reads the row, so a notification is only ever a hint to look.
 */

/** Something is waiting to be sent to a server's agent (a queued command, a new desired state); payload: server id. */
export const commandsChannel = 'berth_agent_commands';

/** A command ended (succeeded, failed, expired, withdrawn); payload: command id. */
export const commandOutcomesChannel = 'berth_command_outcomes';
