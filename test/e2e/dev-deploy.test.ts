import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateDockerd, startDockerd } from '../helpers/dockerd.js';
import {
  type BerthProcess,
  cleanUpDataDir,
  killAllBerthProcesses,
  makeDataDir,
  repoRoot,
  startBerth,
} from './helpers/berth-process.js';

const run = promisify(execFile);

let dataDir: string;
let dockerd: PrivateDockerd;
let berth: BerthProcess | undefined;
// Debian's docker client first: /usr/local/bin/docker on this machine is an unrelated one.
const PATH = `/usr/bin:${process.env['PATH'] ?? ''}`;

/** The bash block between the README's `marker` markers. */
async function readmeBlock(marker: string): Promise<string> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const section = new RegExp(`<!-- ${marker}:start -->([\\s\\S]*?)<!-- ${marker}:end -->`).exec(readme)?.[1];
  const script = section && /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!script) throw new Error(`README.md has no bash block between the ${marker} markers`);
  return script;
}

beforeAll(async () => {
  dataDir = await makeDataDir();
  dockerd = await startDockerd();
  berth = await startBerth({ command: 'dev', dataDir, env: { DOCKER_HOST: `unix://${dockerd.socketPath}`, PATH } });
}, 120_000);

afterAll(async () => {
  await berth?.stop('SIGTERM').catch(() => undefined);
  await killAllBerthProcesses();
  if (dockerd) {
    // Berth's network makes a bridge that would outlive the engine.
    const docker = new Dockerode({ socketPath: dockerd.socketPath });
    const all = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(
      all.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await docker
      .getNetwork('berth')
      .remove()
      .catch(() => undefined);
    await dockerd.stop();
  }
  await cleanUpDataDir(dataDir);
}, 60_000);

describe('the README deploy walkthrough, run as a newcomer would against berth dev', () => {
  it('deploys, redeploys under load without a failed request, fails a broken version safely, rolls back, stops and starts', {
    timeout: 240_000,
  }, async () => {
    const [first, ...rest] = (await readmeBlock('walkthrough')).split('\n');
    expect(first).toBe('BERTH=http://127.0.0.1:8080');
    const script = [`BERTH=${berth!.url}`, ...rest, await readmeBlock('deploy-walkthrough')].join('\n');
    const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: repoRoot,
      timeout: 200_000,
      env: { ...process.env, DOCKER_HOST: `unix://${dockerd.socketPath}`, PATH },
      maxBuffer: 16 * 1024 * 1024,
    });
    const lines = stdout.split('\n');
    // 13: the events streamed live, ending with the deployment's success and the terminal frame.
    const streamed = lines
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as { kind: string; event?: { eventType: string } });
    expect(streamed.map((e) => e.event?.eventType ?? e.kind)).toEqual(
      expect.arrayContaining([
        'deployment-started',
        'container-started',
        'traffic-switched',
        'deployment-succeeded',
        'terminal',
      ]),
    );
    // 14–18, in order: v1 answers; the redeploy under load failed nothing and v2 answers; the broken version failed
    // and v2 still answers; the rollback brings v1 back; stopped, it does not answer; started, v1 again.
    const answers = lines.filter((l) => /^hello v\d$/.test(l));
    expect(answers).toEqual(['hello v1', 'hello v2', 'hello v2', 'hello v1', 'hello v1']);
    const load = /^requests during the redeploy: (\d+), failed: (\d+)$/m.exec(stdout);
    expect(load, stdout).not.toBeNull();
    expect(Number(load![1])).toBeGreaterThan(20);
    expect(Number(load![2]), stdout).toBe(0);
    expect(stdout).toContain('"eventType":"deployment-failed"');
    expect(stdout).toMatch(/^while stopped: (502|000)$/m);
    expect(stdout).not.toContain('correct-horse-battery');
    expect(stderr).toBe('');
    console.log('README deploy walkthrough:', load![0]);
  });
});
