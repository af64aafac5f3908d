/**
 * Entry point of the agent bundle that the install script puts on a server (`node berth-agent.mjs run|enroll|status`).
 * The same code as `berth agent …`, without the control plane.
 */
import { processIo, runAgentCli } from './cli.js';

process.exit(await runAgentCli(process.argv.slice(2), processIo()));
