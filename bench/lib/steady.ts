import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FleetStats } from './agent.js';
import { type ProbeResult, startProbe } from './probe.js';
import { cpuSince, cpuSnapshot, rssBytes } from './proc.js';
import { connectionStates } from './seed.js';
import { mib, percentile, progress, round, sleep } from './stats.js';

/** What the processes did over a window. */
export interface WindowResult {
  seconds: number;
  /** Percent of one core (2 cores = 200 %). */
  controlPlaneCpuPercent: number;
  postgresCpuPercent: number;
  benchCpuPercent: number;
  /** The whole machine, every process included (others' jobs too): the rest is load the bench did not make. */
  machineCpuPercent: number;
  controlPlaneRssEndMiB: number;
  heartbeatsSent: number;
  heartbeatAcks: number;
  heartbeatRttP50Ms: number;
  heartbeatRttP99Ms: number;
  /** Lowest and highest `connected` count of the servers table over the samples (every 5 s). */
  connectedMin: number;
  connectedMax: number;
  /** Highest `unreachable` count seen in a sample. */
  unreachableMax: number;
  /** Event-loop delay of this process (the simulated agents) over the window: its own lag inflates the RTTs. */
  benchLoopDelayP99Ms: number;
  benchLoopDelayMaxMs: number;
  /** Streams that ended during the window (client side). */
  streamsEnded: number;
  /** The control plane's HTTP endpoints, probed once a second over the window. */
  probe: ProbeResult;
}

/** Measures CPU of the control plane, PostgreSQL and this process over `seconds`, sampling the table every 5 s. */
export async function measureWindow(options: {
  seconds: number;
  controlPlanePid: number;
  httpUrl: string;
  postmasterPid: number;
  orm: MikroORM;
  stats: FleetStats;
  startedAt: number;
  label: string;
}): Promise<WindowResult> {
  const { stats, orm } = options;
  const endsBefore = [...stats.ends.values()].reduce((a, b) => a + b, 0);
  const sentBefore = stats.heartbeatsSent;
  const acksBefore = stats.heartbeatAcks;
  stats.heartbeatRtts.length = 0;
  stats.recordHeartbeats = true;
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const probe = startProbe(options.httpUrl);
  const start = cpuSnapshot(options.controlPlanePid, options.postmasterPid);
  const wall0 = start.wallMs;
  let connectedMin = Number.POSITIVE_INFINITY;
  let connectedMax = 0;
  let unreachableMax = 0;
  const end = wall0 + options.seconds * 1000;
  while (performance.now() < end) {
    await sleep(Math.min(5000, end - performance.now()));
    // The sample's own query is small (a GROUP BY on the servers table) next to the load measured.
    const states = await connectionStates(orm);
    const connected = states['connected'] ?? 0;
    connectedMin = Math.min(connectedMin, connected);
    connectedMax = Math.max(connectedMax, connected);
    unreachableMax = Math.max(unreachableMax, states['unreachable'] ?? 0);
    progress(
      options.startedAt,
      `${options.label}: ${JSON.stringify(states)}, ${stats.heartbeatAcks - acksBefore} acks`,
    );
  }
  const cpu = cpuSince(start, options.controlPlanePid, options.postmasterPid);
  stats.recordHeartbeats = false;
  loopDelay.disable();
  const probed = await probe.stop();
  return {
    seconds: round(cpu.seconds),
    controlPlaneCpuPercent: round(cpu.controlPlane),
    postgresCpuPercent: round(cpu.postgres),
    benchCpuPercent: round(cpu.bench),
    machineCpuPercent: round(cpu.machine),
    controlPlaneRssEndMiB: mib(rssBytes(options.controlPlanePid)),
    heartbeatsSent: stats.heartbeatsSent - sentBefore,
    heartbeatAcks: stats.heartbeatAcks - acksBefore,
    heartbeatRttP50Ms: round(percentile(stats.heartbeatRtts, 50)),
    heartbeatRttP99Ms: round(percentile(stats.heartbeatRtts, 99)),
    connectedMin: connectedMin === Number.POSITIVE_INFINITY ? 0 : connectedMin,
    connectedMax,
    unreachableMax,
    benchLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
    benchLoopDelayMaxMs: round(loopDelay.max / 1e6),
    streamsEnded: [...stats.ends.values()].reduce((a, b) => a + b, 0) - endsBefore,
    probe: probed,
  };
}
