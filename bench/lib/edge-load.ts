import http from 'node:http';
import { upstreamBody } from './edge-rig.js';
import { childPidsNamed, cpuPercent, cpuSeconds, machineBusySeconds } from './proc.js';
import { round, sleep } from './stats.js';

export interface LoadTarget {
  mode: 'direct' | 'caddy';
  port: number;
  /** The Host header; Caddy's route matches on it. */
  host: string;
}

/** One measured run: requests sent, latencies in ms (of the requests answered 200 with the upstream's body), CPU. */
export interface LoadRun {
  mode: LoadTarget['mode'];
  concurrency: number;
  round: number;
  seconds: number;
  ok: number;
  failed: number;
  firstFailure: string;
  requestsPerSecond: number;
  latencyMs: number[];
  /** % of one core, over the measured window. */
  cpuPercent: { bench: number; upstream: number; caddy: number; machine: number };
}

/** How long a load run lasts. */
export interface LoadSettings {
  /** Seconds of one measured run, unless `requests` is given. */
  durationSeconds: number;
  /** Requests of one measured run instead of a duration. */
  requests: number | null;
  /** Unrecorded load at the start of every run. */
  warmupMs: number;
}

/** One GET / to the target: null when it answered 200 with the upstream's body, else what it answered. */
export function oneRequest(agent: http.Agent, target: LoadTarget): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port: target.port, path: '/', agent, headers: { host: target.host } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve(res.statusCode === 200 && body === upstreamBody ? null : `${res.statusCode} ${body.slice(0, 80)}`),
        );
        res.on('error', (error) => resolve(error.message));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}

/** Sends a request every 50 ms until the target answers with the upstream's body; throws after `timeoutMs`. */
export async function waitUntilServed(target: LoadTarget, timeoutMs: number): Promise<void> {
  const ready = performance.now();
  while ((await oneRequest(http.globalAgent, target)) !== null) {
    if (performance.now() - ready > timeoutMs) {
      throw new Error(`Caddy did not serve ${target.host} within ${timeoutMs / 1000} s`);
    }
    await sleep(50);
  }
}

/**
 * `concurrency` loops, each sending its next request as soon as the previous one is answered, over one keep-alive
 * agent with that many sockets: a closed-loop load, so requests/s is what the path sustains at that concurrency.
 * CPU is read for this process, the upstream, our `caddy` children and the machine over the measured window.
 */
export async function loadRun(
  target: LoadTarget,
  concurrency: number,
  roundNo: number,
  upstreamPid: number,
  settings: LoadSettings,
): Promise<LoadRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencyMs: number[] = [];
  let failed = 0;
  let firstFailure = '';
  let recording = false;
  let sent = 0;
  const warmupEnd = performance.now() + settings.warmupMs;
  let measureEnd = Number.POSITIVE_INFINITY;
  const more = () =>
    recording ? (settings.requests === null ? performance.now() < measureEnd : sent < settings.requests) : true;
  let start = { wall: 0, self: process.cpuUsage(), upstream: 0, caddy: 0, machine: 0 };
  // startCaddy keeps its pid to itself: our children named `caddy`.
  const caddy = childPidsNamed('caddy');
  const caddyCpu = () => caddy.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const loop = async () => {
    while (more()) {
      if (!recording && performance.now() >= warmupEnd) {
        recording = true;
        start = {
          wall: performance.now(),
          self: process.cpuUsage(),
          upstream: cpuSeconds(upstreamPid),
          caddy: caddyCpu(),
          machine: machineBusySeconds(),
        };
        measureEnd = start.wall + settings.durationSeconds * 1000;
      }
      const counted = recording;
      if (counted) sent += 1;
      const t0 = performance.now();
      const failure = await oneRequest(agent, target);
      if (!counted) continue;
      if (failure === null) latencyMs.push(performance.now() - t0);
      else {
        failed += 1;
        firstFailure ||= failure;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - start.wall) / 1000;
  const self = process.cpuUsage(start.self);
  const percent = (used: number) => round(cpuPercent(used, seconds));
  const cpu = {
    bench: percent((self.user + self.system) / 1e6),
    upstream: percent(cpuSeconds(upstreamPid) - start.upstream),
    caddy: percent(caddyCpu() - start.caddy),
    machine: percent(machineBusySeconds() - start.machine),
  };
  agent.destroy();
  return {
    mode: target.mode,
    concurrency,
    round: roundNo,
    seconds,
    ok: latencyMs.length,
    failed,
    firstFailure,
    requestsPerSecond: round(latencyMs.length / seconds),
    latencyMs,
    cpuPercent: cpu,
  };
}
