import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type LoggedProcess, spawnLogged } from './processes.js';

// What install.sh runs (its prerequisite checks, downloads, checksums and file work): all a "server without
// Node" gets on its PATH.
const installTools = ['sh', 'curl', 'sha256sum', 'uname', 'id', 'getconf', 'ldd', 'grep', 'sed', 'tr', 'mktemp'];
installTools.push('rm', 'mkdir', 'install', 'chmod', 'touch', 'cat', 'printf', 'env', 'test', '[');

/** Where one install puts things; `tmp` is its TMPDIR, so whatever the script leaves behind shows up there. */
export interface Layout {
  prefix: string;
  stateDir: string;
  tmp: string;
}

/** `command -v` for programs: the first executable of that name on our PATH (sh answers its builtins by name). */
export async function programPath(tool: string): Promise<string> {
  for (const dir of (process.env['PATH'] ?? '').split(':').filter(Boolean)) {
    const candidate = path.join(dir, tool);
    const executable = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (executable) return candidate;
  }
  throw new Error(`${tool} is not on the PATH; install.sh needs it`);
}

/** A folder of symlinks to just the tools install.sh needs, to use as the whole PATH. */
export async function toolsOnlyPath(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const tool of installTools) await symlink(await programPath(tool), path.join(dir, tool));
  return dir;
}

/** A folder whose only program is `node`, a link to `node`: to put first on a PATH. */
export async function nodeOnlyPath(dir: string, node: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await symlink(node, path.join(dir, 'node'));
  return dir;
}

/**
 * A Node.js of another version than the one the tests run on (the pinned one): the first `node` on our PATH that
 * prints another version, such as the machine's own Node 20 in /usr/bin. Where there is none, a stand-in script that
 * answers `--version` with v20.20.2 and fails at anything else, which is all install.sh asks of it.
 */
export async function otherNode(dir: string): Promise<{ path: string; version: string }> {
  const ours = await realpath(process.execPath);
  for (const folder of (process.env['PATH'] ?? '').split(':').filter(Boolean)) {
    const candidate = path.join(folder, 'node');
    const real = await realpath(candidate).catch(() => undefined);
    if (real === undefined || real === ours) continue;
    const version = await promisify(execFile)(candidate, ['--version']).then(
      (out) => out.stdout.trim(),
      () => '',
    );
    if (/^v\d+\./.test(version) && version !== process.version) return { path: candidate, version };
  }
  await mkdir(dir, { recursive: true });
  const stub = path.join(dir, 'node-v20.20.2');
  await writeFile(stub, '#!/bin/sh\n[ "$1" = --version ] && echo v20.20.2 && exit 0\nexit 9\n', { mode: 0o755 });
  return { path: stub, version: 'v20.20.2' };
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** Runs install.sh the way its users do, into folders under `work`. */
export class Installer {
  constructor(
    private readonly work: string,
    private readonly url: string,
  ) {}

  async layout(name: string): Promise<Layout> {
    const root = path.join(this.work, name);
    const tmp = path.join(root, 'tmp');
    await mkdir(tmp, { recursive: true });
    return { prefix: path.join(root, 'opt'), stateDir: path.join(root, 'state'), tmp };
  }

  /** The install command's words with `--prefix`, `--state-dir` and `--no-systemd` for a test. */
  args(dirs: Layout, token: string, caSha256: string): string[] {
    const where = ['--prefix', dirs.prefix, '--state-dir', dirs.stateDir, '--no-systemd'];
    return ['--url', this.url, '--token', token, '--ca-sha256', caSha256, ...where];
  }

  /** `curl -fsSL <url>/install.sh | sh -s -- <args>` in `shell`, as a background child. */
  run(args: string[], env: Record<string, string>, shell = '/bin/sh'): LoggedProcess {
    const line = `curl -fsSL ${quote(this.url)}/install.sh | sh -s -- ${args.map(quote).join(' ')}`;
    return spawnLogged(shell, ['-c', line], { env, cwd: this.work });
  }
}
