import { BenchAgent, type FleetStats } from './agent.js';
import type { AgentIdentity } from './seed.js';
import { percentile, progress, round } from './stats.js';

/** How connecting the fleet went. */
export interface ConnectResult {
  agents: BenchAgent[];
  connected: number;
  failed: number;
  /** Failure reasons, by message. */
  failures: Map<string, number>;
  /** From the first dial to the last Welcome (or to giving up). */
  wallMs: number;
  welcomeP50Ms: number;
  welcomeP99Ms: number;
  /** Dial → channel READY, and READY → Welcome (ms). */
  readyP50Ms: number;
  readyP99Ms: number;
  helloP50Ms: number;
  helloP99Ms: number;
  timedOut: boolean;
}

/**
 * Connects one agent per identity, at most `concurrency` handshakes (dial, TLS, Hello → Welcome) in flight, as a
 * fleet reconnecting after a control-plane restart would. Stops dialing after `timeoutMs`.
 */
export async function connectFleet(options: {
  identities: AgentIdentity[];
  address: string;
  caPem: string;
  stats: FleetStats;
  concurrency: number;
  welcomeTimeoutMs: number;
  timeoutMs: number;
  startedAt: number;
}): Promise<ConnectResult> {
  const { identities, stats } = options;
  const agents: BenchAgent[] = [];
  const welcomes: number[] = [];
  const failures = new Map<string, number>();
  const started = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  let next = 0;
  let timedOut = false;
  const ticker = setInterval(() => {
    const line = `connecting: ${welcomes.length}/${identities.length} welcomed, ${next - welcomes.length} in flight or failed`;
    progress(options.startedAt, line);
  }, 5000);

  const worker = async () => {
    for (;;) {
      if (Date.now() > deadline) {
        timedOut = true;
        return;
      }
      const index = next++;
      if (index >= identities.length) return;
      const agent = new BenchAgent(identities[index]!, options.address, options.caPem, stats);
      agents.push(agent);
      try {
        welcomes.push(await agent.connect(options.welcomeTimeoutMs));
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        failures.set(reason, (failures.get(reason) ?? 0) + 1);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    clearInterval(ticker);
  }
  return {
    agents,
    connected: welcomes.length,
    failed: agents.length - welcomes.length,
    failures,
    wallMs: round(performance.now() - started, 0),
    welcomeP50Ms: round(percentile(welcomes, 50)),
    welcomeP99Ms: round(percentile(welcomes, 99)),
    readyP50Ms: round(percentile(stats.readyMs, 50)),
    readyP99Ms: round(percentile(stats.readyMs, 99)),
    helloP50Ms: round(percentile(stats.helloMs, 50)),
    helloP99Ms: round(percentile(stats.helloMs, 99)),
    timedOut,
  };
}
