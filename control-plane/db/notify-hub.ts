import pg from 'pg';
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';

/**
 * The process's one LISTEN connection (a pooled connection cannot hold one), shared by everything that waits for
 * a change another replica may make: commands queued for a server, commands ended, deployment events. Every
 * waiter also re-checks on its own every `recheckMs`, so a notification lost while the connection was down only
 * delays an answer; without a database URL (some tests) that re-check is all there is.
 */
export interface NotifyHub {
  /** Calls `listener` with the payload of every NOTIFY on `channel`. Returns the unsubscribe. */
  subscribe(channel: string, listener: (payload: string) => void): () => void;
  /** Calls `listener` after every (re)connect: notifications sent while the connection was down are lost. */
  onListening(listener: () => void): () => void;
  /**
   * Waits until `check` answers something other than `undefined`: it runs at once, again whenever `channel` is
   * notified with `key`, and at least every `recheckMs`. Resolves `undefined` once `deadline` has passed (checked
   * against the injected clock) or `signal` aborts.
   */
  waitUntil<T>(options: WaitOptions<T>): Promise<T | undefined>;
  /** Resolves true when `channel` is notified with `key`, false after `ms` (or at stop). */
  notified(channel: string, key: string, ms: number): Promise<boolean>;
  /** Connects and LISTENs on every channel named so far; rejects when the first connection fails. */
  start(): Promise<void>;
  /** Closes the connection, cancels a pending reconnect and wakes every waiter (which then re-checks once). */
  stop(): Promise<void>;
}

/** Options of {@link NotifyHub.waitUntil}. */
export interface WaitOptions<T> {
  channel: string;
  key: string;
  check(): Promise<T | undefined>;
  deadline: Date;
  recheckMs?: number;
  signal?: AbortSignal;
}

/** Options of {@link createNotifyHub}. */
export interface NotifyHubOptions {
  databaseUrl: string | undefined;
  /** Channels to LISTEN on; `subscribe` adds more (LISTENed at once when connected). */
  channels: readonly string[];
  log: Logger;
  clock: Clock;
}

/** The LISTEN connection's `application_name`, so operators (and tests) can find it in `pg_stat_activity`. */
export const listenerApplicationName = 'berth-notify-hub';

const maxReconnectDelayMs = 30_000;
const defaultRecheckMs = 1_000;

/** Creates the hub; nothing connects until `start()`. */
export function createNotifyHub(options: NotifyHubOptions): NotifyHub {
  const { databaseUrl, log, clock } = options;
  const channels = new Set(options.channels);
  const listeners = new Map<string, Set<(payload: string) => void>>();
  const listeningHooks = new Set<() => void>();
  const stopWakers = new Set<() => void>();
  let client: pg.Client | undefined;
  let stopped = true;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;

  async function connect(): Promise<void> {
    if (databaseUrl === undefined) return;
    const next = new pg.Client({ connectionString: databaseUrl, application_name: listenerApplicationName });
    next.on('notification', (message) => {
      for (const listener of listeners.get(message.channel) ?? []) listener(message.payload ?? '');
    });
    const lost = (why: string, error?: unknown) => {
      // pg emits 'error' and later 'end' for one drop: one reconnect is scheduled for both.
      if (client !== next || stopped) return;
      log.warn({ err: error }, `the notification connection ${why}; reconnecting`);
      client = undefined;
      next.end().catch(() => undefined);
      scheduleReconnect();
    };
    next.on('error', (error) => lost('failed', error));
    next.on('end', () => lost('closed'));
    await next.connect();
    try {
      for (const channel of channels) await next.query(`LISTEN "${channel}"`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    if (stopped) {
      await next.end();
      return;
    }
    client = next;
    if (attempt > 0) log.info('the notification listener reconnected');
    attempt = 0;
    for (const hook of listeningHooks) hook();
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
          log.warn({ err: error, attempt }, 'could not reconnect the notification listener');
          scheduleReconnect();
        })
        .finally(() => {
          connecting = undefined;
        });
    }, delay);
  }

  function subscribe(channel: string, listener: (payload: string) => void): () => void {
    const set = listeners.get(channel) ?? new Set();
    listeners.set(channel, set);
    set.add(listener);
    if (!channels.has(channel)) {
      channels.add(channel);
      client
        ?.query(`LISTEN "${channel}"`)
        .catch((error: unknown) => log.warn({ err: error, channel }, 'LISTEN failed'));
    }
    return () => {
      set.delete(listener);
      if (set.size === 0) listeners.delete(channel);
    };
  }

  async function waitUntil<T>(wait: WaitOptions<T>): Promise<T | undefined> {
    const recheckMs = wait.recheckMs ?? defaultRecheckMs;
    let wake: (() => void) | undefined;
    let pending = false;
    // Subscribed before the first check, so a change between the check and the wait is not missed.
    const unsubscribe = subscribe(wait.channel, (payload) => {
      if (payload !== wait.key) return;
      pending = true;
      wake?.();
    });
    const onStop = () => wake?.();
    stopWakers.add(onStop);
    const onAbort = () => wake?.();
    wait.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        pending = false;
        const answer = await wait.check();
        if (answer !== undefined) return answer;
        const left = wait.deadline.getTime() - clock().getTime();
        if (left <= 0 || wait.signal?.aborted || stopped) return undefined;
        if (pending) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(recheckMs, left));
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
      }
    } finally {
      unsubscribe();
      stopWakers.delete(onStop);
      wait.signal?.removeEventListener('abort', onAbort);
    }
  }

  function notified(channel: string, key: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (value: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        stopWakers.delete(onStop);
        resolve(value);
      };
      const unsubscribe = subscribe(channel, (payload) => {
        if (payload === key) finish(true);
      });
      const onStop = () => finish(false);
      stopWakers.add(onStop);
      const timer = setTimeout(() => finish(false), ms);
    });
  }

  return {
    subscribe,
    notified,
    onListening(listener) {
      listeningHooks.add(listener);
      return () => listeningHooks.delete(listener);
    },
    waitUntil,
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
      for (const wake of stopWakers) wake();
    },
  };
}
