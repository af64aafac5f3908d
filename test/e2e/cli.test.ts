import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSettings } from '../../control-plane/config.js';
import { berthBin, cleanUpDataDir, makeDataDir, repoRoot } from './helpers/berth-process.js';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dataDir: string;

beforeAll(async () => {
  dataDir = await makeDataDir();
});

afterAll(async () => {
  const leftovers = await cleanUpDataDir(dataDir);
  expect(leftovers, 'a CLI call that should have failed started PostgreSQL').toEqual([]);
});

/**
 * Runs `node bin/berth.js ...args`. A safe data folder and port 0 are set in case a call that should fail starts
 * the control plane after all; the 30 s timeout kills it then.
 */
function berth(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('BERTH_')) base[key] = value;
  const childEnv = { ...base, BERTH_DATA_DIR: dataDir, BERTH_HTTP_PORT: '0', ...env };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [berthBin, ...args],
      { cwd: repoRoot, env: childEnv, timeout: 30_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// Two tests read --help: run it once.
let helpRun: Promise<Outcome> | undefined;
const help = () => (helpRun ??= berth(['--help']));

/** The variables of the README's configuration table. */
async function readmeVariables(): Promise<string[]> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  return [...readme.matchAll(/^\| `(BERTH_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
}

describe.concurrent('the berth command line', { timeout: 60_000 }, () => {
  it('--help exits 0 and lists every BERTH_* setting with its flag', async ({ expect }) => {
    const { code, stdout, stderr } = await help();
    expect(code, stderr).toBe(0);
    for (const s of Object.values(controlPlaneSettings))
      expect(stdout).toMatch(new RegExp(`--${s.flag}\\s+${s.env}\\b`));
    for (const command of ['dev', 'control-plane', 'agent']) expect(stdout).toContain(`berth ${command}`);
  });

  it("the README's configuration table names the same variables as --help", async ({ expect }) => {
    const { stdout } = await help();
    const inHelp = [...stdout.matchAll(/\b(BERTH_[A-Z_]+)\b/g)].map((m) => m[1]!);
    expect(new Set(await readmeVariables()), 'README.md table vs berth --help').toEqual(new Set(inHelp));
  });

  it('a bad flag value stops the start with exit 2, naming the flag and what it expects', async ({ expect }) => {
    const { code, stdout, stderr } = await berth(['dev', '--http-port', 'abc']);
    expect(code).toBe(2);
    expect(stderr).toContain('--http-port: must be a whole number from 0 to 65535 (got "abc")');
    expect(stdout).not.toContain('Berth is ready');
  });

  it('a bad environment value stops the start with exit 2, naming the variable and the accepted values', async ({
    expect,
  }) => {
    const { code, stdout, stderr } = await berth(['control-plane'], { BERTH_LOG_LEVEL: 'loud' });
    expect(code).toBe(2);
    expect(stderr).toContain('BERTH_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent');
    expect(stderr).toContain('"loud"');
    expect(stdout).toBe('');
  });

  it('an unknown flag exits 2 and says which flag and where to find the valid ones', async ({ expect }) => {
    const { code, stderr } = await berth(['dev', '--nope']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown option '--nope'/i);
    expect(stderr).toContain('berth dev --help');
  });

  it('an unknown flag in place of the command exits 2 and lists the commands', async ({ expect }) => {
    const { code, stderr } = await berth(['--nope']);
    expect(code).toBe(2);
    expect(stderr).toContain('--nope');
    expect(stderr).toContain('berth control-plane');
  });

  // The agent link is being built: until then `berth agent` refuses ("not available yet"); with it, an agent that was
  // never enrolled refuses to run and says how to enrol. Either way it must fail with a reason, starting nothing.
  it('berth agent on a server that is not set up exits non-zero and says why', async ({ expect }) => {
    const { code, stdout, stderr } = await berth(['agent'], {
      BERTH_AGENT_STATE_DIR: path.join(dataDir, 'agent'),
    });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toMatch(/not available yet|not enrolled/);
    expect(stdout).not.toContain('ready');
  });

  it('an unknown command exits 2 and lists the commands', async ({ expect }) => {
    const { code, stderr } = await berth(['frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
    for (const command of ['dev', 'control-plane', 'agent']) expect(stderr).toContain(`berth ${command}`);
  });

  it('--version prints the version of package.json', async ({ expect }) => {
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const { code, stdout } = await berth(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });
});
