import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
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
