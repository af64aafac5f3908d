import pg from 'pg';
import { commandsChannel } from '../../../control-plane/modules/agent-commands/channels.js';
import { newId } from '../../../shared/ids.js';

/** A row of `agent_commands`, as the test reads it. */
export interface CommandRow {
  id: string;
  kind: string;
  state: string;
  sendCount: number;
  sentAt: Date | null;
  completedAt: Date | null;
  errorCode: string | null;
}

/**
 * Direct access to the control plane's `agent_commands` table. The API queues commands only inside a connectivity
 * test, with a 10 s deadline and only while the agent is connected; a fault test needs commands that wait
 * through an outage, so it queues them as `CommandService.enqueue` does: a `queued` row, then a NOTIFY.
 */
export class CommandsDb {
  private readonly client: pg.Client;

  private constructor(url: string) {
    this.client = new pg.Client({ connectionString: url });
  }

  static async connect(url: string): Promise<CommandsDb> {
    const db = new CommandsDb(url);
    await db.client.connect();
    return db;
  }

  /** Queues a `kind` command for `serverId` that must finish within `timeoutMs`; resolves to its id. */
  async queue(serverId: string, kind: string, timeoutMs: number): Promise<string> {
    const id = newId('command');
    const now = new Date();
    await this.client.query(
      `insert into agent_commands (id, server_id, kind, payload, state, issued_at, deadline, send_count)
       values ($1, $2, $3, '{}'::jsonb, 'queued', $4, $5, 0)`,
      [id, serverId, kind, now, new Date(now.getTime() + timeoutMs)],
    );
    await this.client.query('select pg_notify($1, $2)', [commandsChannel, serverId]);
    return id;
  }

  async rows(ids: string[]): Promise<CommandRow[]> {
    const { rows } = await this.client.query<{
      id: string;
      kind: string;
      state: string;
      send_count: number;
      sent_at: Date | null;
      completed_at: Date | null;
      error_code: string | null;
    }>(
      'select id, kind, state, send_count, sent_at, completed_at, error_code from agent_commands where id = any($1) order by issued_at, id',
      [ids],
    );
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      state: r.state,
      sendCount: r.send_count,
      sentAt: r.sent_at,
      completedAt: r.completed_at,
      errorCode: r.error_code,
    }));
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
