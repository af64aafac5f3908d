import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIMEOUT_MS = 120_000;

interface Outcome {
  code: number | string | null;
  output: string;
}

/** Runs a tool from node_modules/.bin and resolves with its exit code and output; never rejects on failure. */
function runTool(tool: string, args: string[]): Promise<Outcome> {
  return new Promise((done) => {
    execFile(
      join(repoRoot, 'node_modules', '.bin', tool),
      args,
      { cwd: repoRoot, timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        // error.code is the exit status, or a string such as ENOENT when the tool could not start at all.
        const code = error ? (error.code ?? error.signal ?? null) : 0;
        done({ code, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

describe('static checks', () => {
  it('passes biome check (format, lint, import order)', { timeout: TIMEOUT_MS + 10_000 }, async () => {
    const { code, output } = await runTool('biome', ['check', '--colors=off', '.']);
    expect(code, `biome check . failed:\n${output}`).toBe(0);
  });

  it('type-checks with tsc -p .', { timeout: TIMEOUT_MS + 10_000 }, async () => {
    const { code, output } = await runTool('tsc', ['-p', '.', '--pretty', 'false']);
    expect(code, `tsc -p . failed:\n${output}`).toBe(0);
  });
});
