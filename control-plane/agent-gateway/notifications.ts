import pg from 'pg';
import type { Logger } from '../../shared/logger.js';
import { commandsChannel } from '../modules/agent-commands/service.js';

/** Options of {@link createCommandNotifications}. */
export interface CommandNotificationsOptions {
  databaseUrl: string;
  log: Logger;
  /** A command was queued for this server (on any replica). */
  onCommandQueued(serverId: string): void;
  /**
   * The listener (re)connected. Notifications sent while it was down are lost, so the caller re-checks every
   * session it holds.
   */
  onListening(): void;
}

/** A dedicated PostgreSQL connection that LISTENs on the commands channel. */
export interface CommandNotifications {
  /** Connects and LISTENs; rejects when the first connection fails. */
  start(): Promise<void>;
  /** Closes the connection and cancels a pending reconnect. */
  stop(): Promise<void>;
}

const maxReconnectDelayMs = 30_000;

/** The listener connection's `application_name`, so operators (and tests) can find it in `pg_stat_activity`. */
export const listenerApplicationName = 'berth-agent-gateway-listen';

/**
 * Listens for `NOTIFY berth_agent_commands, '<server id>'` on its own connection (a pooled connection cannot
 * hold a LISTEN). When the connection drops it reconnects with capped exponential backoff and jitter; the
 * gateway's periodic sweep also re-checks queued commands, so a notification lost meanwhile only delays a send.
 */
export function createCommandNotifications(options: CommandNotificationsOptions): CommandNotifications {
  const { databaseUrl, log } = options;
  let client: pg.Client | undefined;
  let stopped = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: databaseUrl, application_name: listenerApplicationName });
    next.on('notification', (message) => {
      if (message.channel === commandsChannel && message.payload) options.onCommandQueued(message.payload);
    });
    next.on('error', (error) => {
      // A dropped connection: pg emits 'error' (and later 'end'); one reconnect is scheduled for both.
      if (client !== next || stopped) return;
      log.warn({ err: error }, 'the command notification connection failed; reconnecting');
      client = undefined;
      next.end().catch(() => undefined);
      scheduleReconnect();
    });
    next.on('end', () => {
      if (client !== next || stopped) return;
      log.warn('the command notification connection closed; reconnecting');
      client = undefined;
      scheduleReconnect();
    });
    await next.connect();
    try {
      await next.query(`LISTEN "${commandsChannel}"`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    if (stopped) {
      await next.end();
      return;
    }
    client = next;
    if (attempt > 0) log.info('the command notification listener reconnected');
    attempt = 0;
    options.onListening();
  }

  function scheduleReconnect(): void {
    if (stopped || reconnectTimer !== undefined) return;
    attempt += 1;
    const ceiling = Math.min(maxReconnectDelayMs, 500 * 2 ** Math.min(attempt, 10));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connecting = connect()
        .catch((error: unknown) => {
          log.warn({ err: error, attempt }, 'could not reconnect the command notification listener');
          scheduleReconnect();
        })
        .finally(() => {
          connecting = undefined;
        });
    }, delay);
  }

  return {
    async start() {
      stopped = false;
      await connect();
    },
    async stop() {
      stopped = true;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      await connecting;
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
