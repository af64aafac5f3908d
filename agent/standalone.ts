/**
 * Entry point of the agent bundle that the install script puts on a server (`node berth-agent.mjs run|enroll|status`).
 * The same code as `berth agent …`, without the control plane.
 */
import { runAgentCli } from './cli.js';

const code = await runAgentCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  on: (signal, listener) => process.on(signal, listener),
  off: (signal, listener) => process.off(signal, listener),
  exit: (exitCode) => process.exit(exitCode),
});
process.exit(code);
