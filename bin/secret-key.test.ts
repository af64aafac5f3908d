import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningPostmasterPort } from '../control-plane/db/embedded-postgres.js';
import { runSecretKeyCli } from './secret-key.js';

const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-secret-key-cli-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runSecretKeyCli(argv, {
    env,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

describe('berth secret-key', () => {
  it('--help explains the procedure for a key file and for BERTH_SECRET_KEY', async () => {
    for (const argv of [['--help'], ['rotate', '--help'], []]) {
      const { code, stdout } = await run(argv);
      expect(code).toBe(0);
      expect(stdout).toContain('berth secret-key rotate [--new-key <base64>] [--keep-previous]');
      expect(stdout).toContain('<data dir>/secret.key');
      expect(stdout).toContain('BERTH_SECRET_KEY=<new>,<old>');
      expect(stdout).toContain('BERTH_NEW_SECRET_KEY');
    }
  });

  it('refuses an unknown subcommand or option with exit 2 and a pointer to --help', async () => {
    for (const argv of [['frob'], ['rotate', '--bogus']]) {
      const { code, stderr } = await run(argv);
      expect(code).toBe(2);
      expect(stderr).toContain('Run "berth secret-key --help" for the procedure.');
    }
  });

  it('refuses a --new-key that is not 32 bytes of base64 without echoing it', async () => {
    const { code, stderr } = await run(['rotate', '--new-key', 'c2hvcnQ='], { BERTH_DATA_DIR: tempDir() });
    expect(code).toBe(2);
    expect(stderr).toContain('--new-key: key 1 is not 32 bytes in base64');
    expect(stderr).not.toContain('c2hvcnQ=');
  });

  it('fails with exit 1, starting nothing, when the data folder holds no database', async () => {
    const dataDir = tempDir();
    const { code, stderr } = await run(['rotate'], { BERTH_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toContain(`${path.join(dataDir, 'postgres')} holds no database`);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});

describe('runningPostmasterPort', () => {
  const pidFile = (pid: number, status: string) =>
    [pid, '/data/postgres', '1700000000', '54321', '', '127.0.0.1', '  1 2', status, ''].join('\n');

  it("reads the port of a live, ready postmaster from the cluster's postmaster.pid", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'postmaster.pid'), pidFile(process.pid, 'ready   '));
    expect(await runningPostmasterPort(dir)).toBe(54321);
  });

  it('ignores a missing file, a postmaster still starting and a pid that is gone', async () => {
    const dir = tempDir();
    expect(await runningPostmasterPort(dir)).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'postmaster.pid'), pidFile(process.pid, 'starting'));
    expect(await runningPostmasterPort(dir)).toBeUndefined();
    // Above the kernel's pid_max, so no process can have it.
    fs.writeFileSync(path.join(dir, 'postmaster.pid'), pidFile(2 ** 22 + 1, 'ready   '));
    expect(await runningPostmasterPort(dir)).toBeUndefined();
  });
});
