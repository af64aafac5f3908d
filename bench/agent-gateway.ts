/**
 * Load bench of the agent gateway: one real control-plane process (`node bin/berth.js control-plane`) on a
 * throwaway PostgreSQL 15, and N simulated agents in this process, each with its own mTLS connection and
 * Connect stream. See bench/README.md.
 *
 *   bin/berth-node --import tsx bench/agent-gateway.ts --agents 1000
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { MikroORM } from '@mikro-orm/postgresql';
import { freePort } from '../shared/free-port.js';
import { createFleetStats } from './lib/agent.js';
import { parseBenchArgs } from './lib/args.js';
import { measureCommands } from './lib/commands.js';
import { type ControlPlaneProcess, startControlPlane } from './lib/control-plane.js';
import { connectFleet } from './lib/fleet.js';
import { ensureOpenFileLimit } from './lib/limits.js';
import { type Cluster, startCluster } from './lib/postgres.js';
import { startProbe } from './lib/probe.js';
import { cpuSince, cpuSnapshot, openFds, openFileLimit, rssBytes } from './lib/proc.js';
import { bootstrapOrganization, connectionStates, seedServers } from './lib/seed.js';
import { mib, progress, round, sleep, waitFor } from './lib/stats.js';
import { measureWindow } from './lib/steady.js';

const options = parseBenchArgs(process.argv.slice(2));
const n = options.agents;
const startedAt = Date.now();
const report: Record<string, unknown> = {
  agents: n,
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 1024 ** 3),
    node: process.version,
    kernel: os.release(),
  },
  settings: {
    heartbeatIntervalMs: 5000,
    connectConcurrency: options.concurrency,
    connectSeconds: options.connectSeconds,
    steadySeconds: options.steadySeconds,
    commands: options.commands,
    connectionModel: 'one grpc-js channel (own TLS connection, grpc.use_local_subchannel_pool) per agent',
  },
};

let cluster: Cluster | undefined;
let controlPlane: ControlPlaneProcess | undefined;
let orm: MikroORM | undefined;
const stats = createFleetStats();
let disposeAgents: () => void = () => undefined;
let cleaning: Promise<void> | undefined;
/** The step under way, for a report cut short by the global timeout. */
let phase = 'setup';

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    disposeAgents();
    await orm?.close().catch(() => undefined);
    await controlPlane?.stop(5000).catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
  })();
  return cleaning;
}

let emitted = false;

async function emit(outcome: string): Promise<void> {
  if (emitted) return;
  emitted = true;
  report['outcome'] = outcome;
  report['totalSeconds'] = round((Date.now() - startedAt) / 1000);
  report['clientStreamEnds'] = Object.fromEntries(stats.ends);
  if (controlPlane) report['controlPlaneLogs'] = Object.fromEntries(controlPlane.logCounts);
  const text = JSON.stringify(report, null, 2);
  process.stdout.write(`${text}\n`);
  if (options.json) await writeFile(options.json, `${text}\n`);
}

async function main(): Promise<void> {
  cluster = await startCluster();
  progress(startedAt, `PostgreSQL 15 up (${cluster.root})`);
  const secretKey = randomBytes(32).toString('base64');
  controlPlane = await startControlPlane({
    databaseUrl: cluster.url,
    dataDir: `${cluster.root}/control-plane`,
    httpPort: await freePort(),
    grpcPort: await freePort(),
    secretKey,
    heartbeatIntervalMs: 5000,
    onSpawn: (pid) => cluster!.registerChild(pid),
  });
  const cp = controlPlane;
  progress(startedAt, `control plane up, pid ${cp.pid}`);

  phase = 'seed';
  const organizationId = await bootstrapOrganization(cp.httpUrl);
  const seeded = await seedServers(cluster.url, secretKey, organizationId, n);
  orm = seeded.orm;
  report['seed'] = { certificatesMs: seeded.certificateMs, insertRowsMs: seeded.insertMs };
  progress(startedAt, `issued ${n} certificates in ${seeded.certificateMs} ms, inserted rows in ${seeded.insertMs} ms`);

  phase = 'idle';
  // Idle: the control plane with N server rows and no agent (its sweeps run every second regardless).
  await sleep(3000);
  const idle = await measureWindow({
    seconds: 10,
    controlPlanePid: cp.pid,
    httpUrl: cp.httpUrl,
    postmasterPid: cluster.postmasterPid,
    orm,
    stats,
    startedAt,
    label: 'idle',
  });
  const rssBefore = rssBytes(cp.pid);
  report['idle'] = {
    rssMiB: mib(rssBefore),
    cpuPercent: idle.controlPlaneCpuPercent,
    machineCpuPercent: idle.machineCpuPercent,
    fds: openFds(cp.pid),
  };

  phase = 'connect';
  const cpu0 = cpuSnapshot(cp.pid, cluster.postmasterPid);
  const connectProbe = startProbe(cp.httpUrl);
  const fleet = await connectFleet({
    identities: seeded.agents,
    address: `127.0.0.1:${cp.grpcPort}`,
    caPem: seeded.ca.certificatePem,
    stats,
    concurrency: options.concurrency,
    welcomeTimeoutMs: 60_000,
    timeoutMs: options.connectSeconds * 1000,
    startedAt,
  });
  disposeAgents = () => {
    for (const agent of fleet.agents) agent.dispose();
  };
  const connectCpu = cpuSince(cpu0, cp.pid, cluster.postmasterPid);
  const connectProbed = await connectProbe.stop();
  const serverIds = seeded.agents.map((agent) => agent.serverId);
  let dbConnected = 0;
  const rowsCaughtUp = await waitFor(async () => {
    dbConnected = (await connectionStates(seeded.orm))['connected'] ?? 0;
    return dbConnected >= fleet.connected;
  }, 30_000);
  report['connect'] = {
    connected: fleet.connected,
    failed: fleet.failed,
    failures: Object.fromEntries(fleet.failures),
    timedOut: fleet.timedOut,
    allConnectedSeconds: round(fleet.wallMs / 1000, 2),
    perSecond: round(fleet.connected / (fleet.wallMs / 1000), 0),
    welcomeP50Ms: fleet.welcomeP50Ms,
    welcomeP99Ms: fleet.welcomeP99Ms,
    readyP50Ms: fleet.readyP50Ms,
    readyP99Ms: fleet.readyP99Ms,
    helloP50Ms: fleet.helloP50Ms,
    helloP99Ms: fleet.helloP99Ms,
    controlPlaneCpuPercent: round(connectCpu.controlPlane),
    postgresCpuPercent: round(connectCpu.postgres),
    benchCpuPercent: round(connectCpu.bench),
    machineCpuPercent: round(connectCpu.machine),
    dbConnectedAfter: dbConnected,
    dbCaughtUp: rowsCaughtUp,
    probe: connectProbed,
  };
  progress(startedAt, `connected ${fleet.connected}/${n} in ${fleet.wallMs} ms (${fleet.failed} failed)`);
  if (fleet.connected === 0) throw new Error('no agent connected');

  await sleep(5000);
  const rssConnected = rssBytes(cp.pid);
  report['memory'] = {
    rssBeforeMiB: mib(rssBefore),
    rssConnectedMiB: mib(rssConnected),
    perAgentKiB: round((rssConnected - rssBefore) / fleet.connected / 1024),
    controlPlaneFds: openFds(cp.pid),
    benchRssMiB: mib(process.memoryUsage.rss()),
  };

  phase = 'steady';
  const steady = await measureWindow({
    seconds: options.steadySeconds,
    controlPlanePid: cp.pid,
    httpUrl: cp.httpUrl,
    postmasterPid: cluster.postmasterPid,
    orm,
    stats,
    startedAt,
    label: 'steady',
  });
  report['steady'] = steady;

  phase = 'commands';
  progress(startedAt, `queueing ${options.commands} host.facts commands`);
  const connectedIds = serverIds.filter(
    (_, index) => fleet.agents[index] !== undefined && !fleet.agents[index].isEnded,
  );
  report['commands'] = await measureCommands({
    orm,
    serverIds: connectedIds,
    stats,
    count: options.commands,
    spacingMs: 25,
    timeoutMs: 90_000,
  });
  const finalStates = await connectionStates(orm);
  report['final'] = {
    dbStates: finalStates,
    dbConnectedEqualsN: (finalStates['connected'] ?? 0) === n,
    clientOpenStreams: fleet.agents.filter((agent) => !agent.isEnded).length,
    controlPlaneRssMiB: mib(rssBytes(cp.pid)),
    benchRssMiB: mib(process.memoryUsage.rss()),
  };

  phase = 'shutdown';
  progress(startedAt, 'stopping the control plane (SIGTERM) with the agents still connected');
  await orm.close();
  orm = undefined;
  const stopMs = await cp.stop(30_000);
  report['shutdown'] = { gracefulStopMs: stopMs, exit: await cp.exited };
}

const limitOk = await ensureOpenFileLimit(n + 2000);
if (limitOk) {
  report['openFileLimit'] = openFileLimit();
  const watchdog = setTimeout(() => {
    progress(startedAt, `global timeout (${options.timeoutSeconds} s): cleaning up`);
    report['timedOutIn'] = phase;
    void cleanUp()
      .then(() => emit('timeout'))
      .finally(() => process.exit(2));
  }, options.timeoutSeconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    await main();
    await cleanUp();
    await emit('completed');
  } catch (error) {
    report['error'] = error instanceof Error ? error.stack : String(error);
    if (controlPlane) report['controlPlaneLastLogs'] = controlPlane.lastLogs.slice(-10);
    await cleanUp();
    await emit('failed');
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
  progress(startedAt, 'done');
  // grpc-js channels closed above may keep timers alive briefly; nothing else is left to wait for.
  process.exit();
}
