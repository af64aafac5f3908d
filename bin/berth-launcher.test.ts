import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const launcher = path.join(repoRoot, 'bin', 'berth');
const { version, optionalDependencies } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  optionalDependencies: Record<string, string>;
};
const pinnedVersion = `v${optionalDependencies[`node-${process.platform}-${process.arch}`]}`;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number | undefined;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr, pid: child.pid });
    });
  });
}

let work = '';
// A PATH whose first `node` is an impostor that fails loudly, as an old system Node would stand in the way.
let env: NodeJS.ProcessEnv = {};
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'berth-launcher-'));
  await mkdir(path.join(work, 'impostor'));
  await writeFile(path.join(work, 'impostor', 'node'), '#!/bin/sh\necho "impostor node ran" >&2\nexit 97\n');
  await chmod(path.join(work, 'impostor', 'node'), 0o755);
  env = { ...process.env, PATH: `${path.join(work, 'impostor')}:${process.env['PATH'] ?? ''}` };
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('bin/berth, the launcher', () => {
  it('runs berth on the pinned Node whatever node is first on PATH, replacing itself (exec)', async () => {
    // Each Node process of the chain reports itself: a launcher that forked instead of exec'ing shows another pid.
    const report = path.join(work, 'report.mjs');
    await writeFile(report, "console.error(['node', process.pid, process.version, process.execPath].join(' '));\n");
    const out = await run(launcher, ['--version'], { ...env, NODE_OPTIONS: `--import=${report}` });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim()).toBe(version);
    const pinnedBinary = await realpath(
      path.join(repoRoot, 'node_modules', `node-${process.platform}-${process.arch}`),
    );
    expect(out.stderr.trim()).toBe(`node ${out.pid} ${pinnedVersion} ${path.join(pinnedBinary, 'bin', 'node')}`);
  });

  it('follows symlinks to itself, as node_modules/.bin/berth → ../berth/bin/berth with ../berth a link', async () => {
    const modules = path.join(work, 'consumer', 'node_modules');
    await mkdir(path.join(modules, '.bin'), { recursive: true });
    await symlink(repoRoot, path.join(modules, 'berth'));
    await symlink('../berth/bin/berth', path.join(modules, '.bin', 'berth'));
    await symlink(path.join(modules, '.bin', 'berth'), path.join(work, 'berth-elsewhere'));
    for (const entry of [path.join(modules, '.bin', 'berth'), path.join(work, 'berth-elsewhere')]) {
      const out = await run(entry, ['--version'], env);
      expect(out.code, `${entry}: ${out.stderr}`).toBe(0);
      expect(out.stdout.trim()).toBe(version);
    }
  });

  it('bin/berth-node puts the pinned Node first on PATH for what it starts', async () => {
    const script = "process.stdout.write(require('node:child_process').execFileSync('node', ['--version']))";
    const out = await run(path.join(repoRoot, 'bin', 'berth-node'), ['-e', script], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim()).toBe(pinnedVersion);
  });

  it('says what to do when the pinned Node is not installed', async () => {
    const copy = path.join(work, 'no-modules');
    await mkdir(path.join(copy, 'bin'), { recursive: true });
    for (const file of ['berth', 'berth-node', 'berth.js']) {
      await copyFile(path.join(repoRoot, 'bin', file), path.join(copy, 'bin', file));
    }
    await copyFile(path.join(repoRoot, 'package.json'), path.join(copy, 'package.json'));
    await chmod(path.join(copy, 'bin', 'berth'), 0o755);
    await chmod(path.join(copy, 'bin', 'berth-node'), 0o755);
    const out = await run(path.join(copy, 'bin', 'berth'), ['--version'], env);
    expect(out.code).toBe(1);
    expect(out.stderr.trim()).toBe(
      `berth: the pinned Node.js ${pinnedVersion} (npm package node-${process.platform}-${process.arch}) is missing ` +
        `from ${await realpath(copy)}/node_modules: run \`npm ci\` in ${await realpath(copy)}.`,
    );
    expect(out.stderr).not.toContain('impostor');
  });
});
