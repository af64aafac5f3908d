import { parseArgs } from 'node:util';
import { controlPlaneSettings, parseControlPlaneConfig } from '../control-plane/config.js';
import { ConfigError, describeSettings } from '../shared/env-config.js';
import { berthVersion } from '../shared/version.js';

const usage = `berth ${berthVersion} — self-hosted deployments on your own servers

Usage:
  berth dev             run the control plane for local use (embedded PostgreSQL unless BERTH_DATABASE_URL is set)
  berth control-plane   run the control plane (the API and, soon, the agent gateway)
  berth agent           the agent on a managed server: run, enroll, status (berth agent --help)
  berth secret-key rotate  move sealed secrets to a new key-encryption key, no downtime (berth secret-key --help)
  berth --version       print the version
  berth <command> --help

Settings (flag, environment variable, meaning):
${describeSettings(controlPlaneSettings).join('\n')}
`;

const flagOptions = Object.fromEntries(
  Object.values(controlPlaneSettings).map((s) => [s.flag, { type: 'string' as const }]),
);

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(usage);
    return;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`${berthVersion}\n`);
    return;
  }
  if (command === 'agent') {
    // Loaded on demand, so the control-plane commands never load the agent's code.
    const { processIo, runAgentCli } = await import('../agent/cli.js');
    const code = await runAgentCli(rest, processIo());
    process.exit(code);
  }
  if (command === 'secret-key') {
    const { runSecretKeyCli } = await import('./secret-key.js');
    const io = {
      env: process.env,
      stdout: (text: string) => process.stdout.write(text),
      stderr: (text: string) => process.stderr.write(text),
    };
    process.exit(await runSecretKeyCli(rest, io));
  }
  if (command !== 'dev' && command !== 'control-plane') fail(`berth: unknown command "${command}".\n\n${usage}`);

  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: rest, options: { ...flagOptions, help: { type: 'boolean' } }, strict: true }).values;
  } catch (error) {
    fail(`berth ${command}: ${(error as Error).message}\nRun "berth ${command} --help" for the settings.`);
  }
  if (values['help']) {
    process.stdout.write(usage);
    return;
  }

  let config: ReturnType<typeof parseControlPlaneConfig>;
  try {
    config = parseControlPlaneConfig(process.env, values as Record<string, string | undefined>);
  } catch (error) {
    if (error instanceof ConfigError) fail(`berth ${command}: ${error.message}`);
    throw error;
  }

  // Loaded only now: --help, --version and the agent never pay for the control plane's dependencies.
  const { runControlPlane } = await import('../control-plane/main.js');
  if (command === 'dev') {
    if (config.databaseUrl === undefined) {
      process.stderr.write(`Starting Berth with its embedded PostgreSQL in ${config.dataDir} …\n`);
    }
    const { superviseLocalAgent } = await import('./dev-agent-supervisor.js');
    await runControlPlane(config, (running, log) => {
      process.stdout.write(`Berth is ready: ${running.url}  (API docs: ${running.url}/docs)\n`);
      // The README's one command gives a working single-machine platform: this machine runs an agent too.
      return superviseLocalAgent({
        dataDir: config.dataDir,
        url: running.url,
        provision: running.provisionLocalAgent,
        log,
        onEnrolled: (serverId) =>
          process.stderr.write(`This machine is enrolled as the server "local" (${serverId}).\n`),
      });
    });
    return;
  }
  await runControlPlane(config);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
