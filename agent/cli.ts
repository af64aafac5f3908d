import { parseArgs } from 'node:util';
import { ConfigError, describeSettings } from '../shared/env-config.js';
import { createLogger } from '../shared/logger.js';
import { NotEnrolledError } from './agent.js';
import { type AgentConfig, agentSettings, parseAgentConfig } from './config.js';
import { runResolverDaemon } from './edge/resolver-daemon.js';
import { EnrollmentError, enroll } from './enroll.js';
import { type DaemonProcess, runAgent } from './main.js';
import { statePaths } from './state-dir.js';
import { formatStatus, isConnected, readStatus } from './status.js';

const usage = `berth agent — the Berth agent on a managed server

Usage:
  berth agent [run]         run the agent (the daemon; systemd runs this)
  berth agent enroll --url <control-plane-url> --token <token> [--name <name>] [--ca-sha256 <hex>] [--force]
                            enroll this server once, with the token from "add server"
  berth agent status        show the link's state; exits 0 when connected, 1 otherwise
  berth agent --help        this text

Exit codes of "run": 0 after SIGTERM/SIGINT, 1 when not enrolled or failing to start, 2 for bad settings,
3 when the control plane revoked this agent (enroll again to recover).

Settings (flag, environment variable, meaning):
${describeSettings(agentSettings).join('\n')}
`;

/** What the agent CLI needs from its process. */
export interface AgentCliIo extends DaemonProcess {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The command line that runs this CLI again, given the agent's arguments; absent where it cannot (tests). */
  selfCommand?: (argv: string[]) => string[];
}

const settingFlags = Object.fromEntries(Object.values(agentSettings).map((s) => [s.flag, { type: 'string' as const }]));
const enrollFlags = {
  url: { type: 'string' },
  token: { type: 'string' },
  name: { type: 'string' },
  'ca-sha256': { type: 'string' },
  force: { type: 'boolean' },
} as const;

// process.kill(pid, 0) probes without signalling; EPERM means the process exists but belongs to someone else.
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The real process as the agent CLI's IO (the `berth` program and the standalone bundle both use it). */
export function processIo(): AgentCliIo {
  return {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    on: (signal, listener) => process.on(signal, listener),
    off: (signal, listener) => process.off(signal, listener),
    exit: (exitCode) => process.exit(exitCode),
    // Everything before the agent's own arguments: node, its flags, the entry, and `agent` under `berth`.
    selfCommand: (argv) => [
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1, process.argv.length - argv.length),
    ],
  };
}

/** `berth agent …`: runs the subcommand in `argv` and resolves to the process's exit code. */
export async function runAgentCli(argv: string[], io: AgentCliIo): Promise<number> {
  const [first, ...rest] = argv;
  const sub = first === undefined || first.startsWith('-') ? 'run' : first;
  const args = sub === first ? rest : argv;
  if (sub === 'help' || args.includes('--help') || args.includes('-h')) {
    io.stdout(usage);
    return 0;
  }
  if (sub === 'edge-resolver') return runEdgeResolver(args, io);
  if (sub !== 'run' && sub !== 'enroll' && sub !== 'status') {
    io.stderr(`berth agent: unknown subcommand "${sub}".\n\n${usage}`);
    return 2;
  }

  let values: Record<string, string | boolean | undefined>;
  let config: AgentConfig;
  try {
    const options = sub === 'enroll' ? { ...settingFlags, ...enrollFlags } : settingFlags;
    values = parseArgs({ args, options, strict: true }).values as Record<string, string | boolean | undefined>;
    const flags = Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >;
    config = parseAgentConfig(io.env, flags);
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : (error as Error).message;
    io.stderr(`berth agent ${sub}: ${message}\nRun "berth agent --help" for the usage.\n`);
    return 2;
  }

  if (sub === 'status') {
    const status = await readStatus(statePaths(config.stateDir).status).catch(() => undefined);
    if (!status) {
      io.stderr(`berth agent status: no status in ${config.stateDir} (has the agent run here?)\n`);
      return 1;
    }
    io.stdout(`${formatStatus(status, isAlive)}\n`);
    return isConnected(status, isAlive) ? 0 : 1;
  }

  if (sub === 'enroll') {
    const { url, token, name, force } = values as Record<string, string | undefined> & { force?: boolean };
    if (!url || !token) {
      io.stderr('berth agent enroll: --url and --token are required.\nRun "berth agent --help" for the usage.\n');
      return 2;
    }
    try {
      const caSha256 = values['ca-sha256'] as string | undefined;
      const result = await enroll({ url, token, name, caSha256, force, stateDir: config.stateDir });
      io.stdout(
        [
          `Enrolled as ${result.serverId} with ${result.controlPlaneUrl}.`,
          `  agent gateway:      ${result.grpcUrl}`,
          `  certificate until:  ${result.notAfter}`,
          `  CA sha256:          ${result.caSha256}${caSha256 ? ' (matches --ca-sha256)' : ' (not pinned by --ca-sha256)'}`,
          `  state folder:       ${config.stateDir}`,
          'Start the agent with "berth agent run" (or its systemd unit).',
          '',
        ].join('\n'),
      );
      return 0;
    } catch (error) {
      if (!(error instanceof EnrollmentError)) throw error;
      io.stderr(`berth agent enroll: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      return 1;
    }
  }

  try {
    return await runAgent(config, io, undefined, { resolverCommand: io.selfCommand?.(argv) });
  } catch (error) {
    if (!(error instanceof NotEnrolledError)) throw error;
    io.stderr(
      `berth agent: ${error.message}.\nEnroll it first: berth agent enroll --url <control-plane-url> --token <token>\n`,
    );
    return 1;
  }
}

/**
 * `berth agent edge-resolver --file F --port P`: the resolver Caddy asks for each resource's container, as its own
 * process (agent/edge/resolver-daemon.ts). Not in the usage: the agent starts it, nobody else should.
 */
async function runEdgeResolver(args: string[], io: AgentCliIo): Promise<number> {
  let file: string | undefined;
  let port: number;
  try {
    const { values } = parseArgs({
      args,
      options: { file: { type: 'string' }, port: { type: 'string' } },
      strict: true,
    });
    file = values.file;
    port = Number(values.port);
    if (!file || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--file and --port are required');
  } catch (error) {
    io.stderr(`berth agent edge-resolver: ${(error as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: 'info', name: 'edge-resolver' });
  const abort = new AbortController();
  const stop = () => abort.abort();
  io.on('SIGTERM', stop);
  io.on('SIGINT', stop);
  try {
    await runResolverDaemon({ file, port, log, signal: abort.signal });
    return 0;
  } catch (error) {
    log.error({ err: error }, 'the edge resolver stopped');
    return 1;
  } finally {
    io.off('SIGTERM', stop);
    io.off('SIGINT', stop);
  }
}
