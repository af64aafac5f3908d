import { createLogger, type Logger } from '../shared/logger.js';
import { berthVersion } from '../shared/version.js';
import { createAgent } from './agent.js';
import { type AgentConfig, sanitizeAgentConfig } from './config.js';

/** Exit code of the daemon when the control plane revoked this agent (systemd can be told not to restart on it). */
export const exitRevoked = 3;

/** The process the daemon runs in: signals to listen to and a hard exit for a second signal. */
export interface DaemonProcess {
  on(signal: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): never;
}

/**
 * Runs the agent until SIGTERM/SIGINT (clean shutdown: Goodbye, stream closed, spool and replay cache flushed;
 * resolves 0) or until the control plane revokes it (resolves {@link exitRevoked}). A second signal during the
 * shutdown exits at once. Rejects when the agent cannot start, e.g. `NotEnrolledError`.
 */
export async function runAgent(
  config: AgentConfig,
  host: DaemonProcess,
  log?: Logger,
  options: { resolverCommand?: readonly string[] | undefined } = {},
): Promise<number> {
  const logger = log ?? createLogger({ level: config.logLevel, name: 'agent' });
  logger.info({ version: berthVersion, config: sanitizeAgentConfig(config) }, 'berth agent');
  const agent = createAgent(config, { log: logger, resolverCommand: options.resolverCommand });
  await agent.start();

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      host.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    agent.stop('shutdown').catch((error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      host.exit(1);
    });
  };
  host.on('SIGTERM', onSignal);
  host.on('SIGINT', onSignal);
  try {
    const outcome = await agent.finished();
    if (outcome === 'revoked') {
      await agent.stop('revoked');
      return exitRevoked;
    }
    logger.info('agent stopped');
    return 0;
  } finally {
    host.off('SIGTERM', onSignal);
    host.off('SIGINT', onSignal);
  }
}
