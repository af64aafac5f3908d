import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second (utime/stime in /proc/<pid>/stat are counted in these). */
export const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** Resident set size of `pid` in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

interface Stat {
  /** The command name (field 2, without its parentheses). */
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone
  }
  // The command name (field 2) may hold spaces; everything after its closing parenthesis is space-separated.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
  return { comm, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** Pids of the live processes of `parent` (this process by default) whose command name is `comm`. */
export function childPidsNamed(comm: string, parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const found = stat(Number(entry));
    if (found?.comm === comm && found.ppid === parent) pids.push(Number(entry));
  }
  return pids;
}

/** CPU time used so far by `pid` (user + system), in seconds. */
export function cpuSeconds(pid: number): number {
  const found = stat(pid);
  if (found === undefined) throw new Error(`no /proc/${pid}/stat`);
  return found.cpuTicks / clockTicks;
}

/**
 * CPU time used so far by `pid` and its direct children that are alive now (for PostgreSQL: the postmaster and
 * its backends), in seconds. A child that exited between two samples drops out, so use it over windows in
 * which the connections stay open.
 */
export function treeCpuSeconds(pid: number): number {
  let ticks = stat(pid)?.cpuTicks ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = stat(Number(entry));
    if (child?.ppid === pid) ticks += child.cpuTicks;
  }
  return ticks / clockTicks;
}

/** Open file descriptors of `pid`. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** This process' soft limit of open files (RLIMIT_NOFILE), from /proc/self/limits. */
export function openFileLimit(): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match?.[1] === undefined || match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/** CPU use over a window, as a percentage of one core (200 % is both cores of a 2-core machine). */
export function cpuPercent(cpuSecondsUsed: number, wallSeconds: number): number {
  return (cpuSecondsUsed / wallSeconds) * 100;
}

/** Busy CPU time of the whole machine so far (all cores, every process), in seconds, from /proc/stat. */
export function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
  const busy = fields.reduce((sum, value) => sum + value, 0) - fields[3]! - fields[4]!;
  return busy / clockTicks;
}

/** CPU counters of the control plane, PostgreSQL (postmaster and backends) and this process at one instant. */
export interface CpuSnapshot {
  wallMs: number;
  controlPlane: number;
  postgres: number;
  self: NodeJS.CpuUsage;
  machine: number;
}

/** Takes a {@link CpuSnapshot}. */
export function cpuSnapshot(controlPlanePid: number, postmasterPid: number): CpuSnapshot {
  return {
    wallMs: performance.now(),
    controlPlane: cpuSeconds(controlPlanePid),
    postgres: treeCpuSeconds(postmasterPid),
    self: process.cpuUsage(),
    machine: machineBusySeconds(),
  };
}

/** CPU use of each process since `start`, in percent of one core, and the seconds elapsed. */
export function cpuSince(start: CpuSnapshot, controlPlanePid: number, postmasterPid: number) {
  const now = cpuSnapshot(controlPlanePid, postmasterPid);
  const wall = (now.wallMs - start.wallMs) / 1000;
  const self = process.cpuUsage(start.self);
  return {
    seconds: wall,
    controlPlane: cpuPercent(now.controlPlane - start.controlPlane, wall),
    postgres: cpuPercent(now.postgres - start.postgres, wall),
    bench: cpuPercent((self.user + self.system) / 1e6, wall),
    /** Every process on the machine (others' jobs included), percent of one core. */
    machine: cpuPercent(now.machine - start.machine, wall),
  };
}
