import { parseArgs } from 'node:util';

/** The bench's command-line options. */
export interface BenchOptions {
  agents: number;
  steadySeconds: number;
  commands: number;
  /** Handshakes (dial → Welcome) in flight at once while connecting the fleet. */
  concurrency: number;
  /** How long to keep dialing new agents; the handshakes in flight then get up to 60 s to finish. */
  connectSeconds: number;
  /** Whole-run limit; past it the bench cleans up and exits with what it measured. */
  timeoutSeconds: number;
  /** Where to write the JSON report too (stdout always gets it). */
  json: string | undefined;
}

/** `raw` as a positive integer (`fallback` when absent); throws naming `--name` otherwise. */
export function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/**
 * Parses `--agents N [--steady-seconds S] [--commands C] [--concurrency K] [--connect-seconds C]
 * [--timeout-seconds T] [--json FILE]`.
 */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: 'string' },
      'steady-seconds': { type: 'string' },
      commands: { type: 'string' },
      concurrency: { type: 'string' },
      'connect-seconds': { type: 'string' },
      'timeout-seconds': { type: 'string' },
      json: { type: 'string' },
    },
  });
  return {
    agents: positive('agents', values.agents, 1000),
    steadySeconds: positive('steady-seconds', values['steady-seconds'], 60),
    commands: positive('commands', values.commands, 200),
    concurrency: positive('concurrency', values.concurrency, 100),
    connectSeconds: positive('connect-seconds', values['connect-seconds'], 240),
    timeoutSeconds: positive('timeout-seconds', values['timeout-seconds'], 600),
    json: values.json,
  };
}
