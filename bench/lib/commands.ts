import type { MikroORM } from '@mikro-orm/postgresql';
import { createNotifyHub } from '../../control-plane/db/notify-hub.js';
import { AgentCommand } from '../../control-plane/modules/agent-commands/entity.js';
import { createCommandService } from '../../control-plane/modules/agent-commands/service.js';
import { commandKind } from '../../shared/command-catalogue.js';
import { createLogger } from '../../shared/logger.js';
import { systemClock } from '../../shared/time.js';
import type { FleetStats } from './agent.js';
import { percentile, round, sleep, waitFor } from './stats.js';

/** Command round-trip figures (ms). */
export interface CommandResult {
  issued: number;
  succeeded: number;
  otherStates: Record<string, number>;
  /** issuedAt → completedAt as stored on the rows (the control plane wrote the result). */
  roundTripP50Ms: number;
  roundTripP99Ms: number;
  roundTripMaxMs: number;
  /** issuedAt → arrival at the simulated agent. */
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  /** From the first enqueue until every row had ended (polled every 100 ms). */
  wallMs: number;
}

/**
 * Queues `count` `host.facts` commands through the real path (`createCommandService().enqueue`: INSERT, then
 * `pg_notify`), one every `spacingMs`, spread evenly over `serverIds`; the simulated agents answer at once.
 * Then polls the rows until each has ended and reads the latencies off them.
 */
export async function measureCommands(options: {
  orm: MikroORM;
  serverIds: string[];
  stats: FleetStats;
  count: number;
  spacingMs: number;
  timeoutMs: number;
}): Promise<CommandResult> {
  const { orm, serverIds, count } = options;
  // Enqueue only: the bench reads the rows itself, so the hub needs no connection of its own.
  const hub = createNotifyHub({
    databaseUrl: undefined,
    channels: [],
    log: createLogger({ level: 'silent', name: 'bench' }),
    clock: systemClock,
  });
  const service = createCommandService({ now: systemClock, hub });
  const ids: string[] = [];
  const started = performance.now();
  const enqueues: Array<Promise<void>> = [];
  for (let index = 0; index < count; index++) {
    const serverId = serverIds[Math.floor((index * serverIds.length) / count)]!;
    enqueues.push(
      service.enqueue(orm.em.fork(), serverId, commandKind.hostFacts, {}, 60_000).then((command) => {
        ids.push(command.id);
      }),
    );
    await sleep(options.spacingMs);
  }
  await Promise.all(enqueues);
  const ended = ['succeeded', 'failed', 'expired'];
  let rows: AgentCommand[] = [];
  await waitFor(
    async () => {
      rows = await orm.em.fork().find(AgentCommand, { id: { $in: ids } });
      return rows.every((row) => ended.includes(row.state));
    },
    options.timeoutMs,
    100,
  );
  const wallMs = performance.now() - started;
  const roundTrips: number[] = [];
  const otherStates: Record<string, number> = {};
  for (const row of rows) {
    if (row.state === 'succeeded' && row.completedAt) {
      roundTrips.push(row.completedAt.getTime() - row.issuedAt.getTime());
    } else {
      otherStates[row.state] = (otherStates[row.state] ?? 0) + 1;
    }
  }
  const delivery = ids.map((id) => options.stats.commandDelivery.get(id)).filter((ms) => ms !== undefined);
  return {
    issued: ids.length,
    succeeded: roundTrips.length,
    otherStates,
    roundTripP50Ms: round(percentile(roundTrips, 50)),
    roundTripP99Ms: round(percentile(roundTrips, 99)),
    roundTripMaxMs: round(Math.max(...roundTrips)),
    deliveryP50Ms: round(percentile(delivery, 50)),
    deliveryP99Ms: round(percentile(delivery, 99)),
    wallMs: round(wallMs, 0),
  };
}
