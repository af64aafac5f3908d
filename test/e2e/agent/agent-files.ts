import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoggedProcess } from './processes.js';

/** An event in the agent's spool (`<stateDir>/spool.json`). */
export interface SpooledEvent {
  kind: string;
  observedAt: string;
  attributes: Record<string, string>;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The command ids in `<stateDir>/replay-cache.json`, in file order (duplicates kept, so a test can count them). */
export async function replayCacheIds(stateDir: string): Promise<string[]> {
  const cache = await readJson<{ entries: Array<{ commandId: string }> }>(path.join(stateDir, 'replay-cache.json'));
  return cache?.entries.map((entry) => entry.commandId) ?? [];
}

/** The events waiting in `<stateDir>/spool.json`. */
export async function spooledEvents(stateDir: string): Promise<SpooledEvent[]> {
  return (await readJson<{ events: SpooledEvent[] }>(path.join(stateDir, 'spool.json')))?.events ?? [];
}

/** `<stateDir>/status.json`, the agent's own view of its link. */
export async function agentStatus(stateDir: string): Promise<Record<string, unknown> | undefined> {
  return readJson<Record<string, unknown>>(path.join(stateDir, 'status.json'));
}

const lines = (runs: LoggedProcess[], msg: string, commandId: string) =>
  runs.flatMap((run) => run.logs()).filter((line) => line['msg'] === msg && line['commandId'] === commandId);

/** How many times the agent ran the handler of `commandId`: it logs `command finished` once per run, never for a replay. */
export const handlerRuns = (runs: LoggedProcess[], commandId: string) =>
  lines(runs, 'command finished', commandId).length;

/** How many times the agent answered a resend of `commandId` from its replay cache. */
export const replayedAnswers = (runs: LoggedProcess[], commandId: string) =>
  lines(runs, 'command resent; answering from the replay cache', commandId).length;
