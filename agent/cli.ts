import { parseArgs } from 'node:util';
import { ConfigError, describeSettings } from '../shared/env-config.js';
import { NotEnrolledError } from './agent.js';
import { type AgentConfig, agentSettings, parseAgentConfig } from './config.js';
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
    return await runAgent(config, io);
  } catch (error) {
    if (!(error instanceof NotEnrolledError)) throw error;
    io.stderr(
      `berth agent: ${error.message}.\nEnroll it first: berth agent enroll --url <control-plane-url> --token <token>\n`,
    );
    return 1;
  }
}
