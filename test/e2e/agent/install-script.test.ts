import { constants, existsSync } from 'node:fs';
import { access, mkdtemp, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berthVersion } from '../../../shared/version.js';
import { type PrivateCaddy, startCaddy } from '../../helpers/caddy.js';
import { type PrivateDockerd, startDockerd } from '../../helpers/dockerd.js';
import { cleanUpDataDir, killAllBerthProcesses, makeDataDir } from '../helpers/berth-process.js';
import { Api, type ConnectivityResult, type ControlPlane, check, startControlPlane } from './control-plane.js';
import { Installer, type Layout, nodeOnlyPath, otherNode, sha256, toolsOnlyPath } from './installer.js';
import { cleanEnv, eventually, killAllSpawned, type LoggedProcess, settleAll, spawnLogged } from './processes.js';

const wrongPin = '0'.repeat(64);
const timings: Record<string, string> = {};

let dockerd: PrivateDockerd | undefined;
let caddy: PrivateCaddy | undefined;
let cp: ControlPlane | undefined;
let dataDir = '';
let work = '';
let api: Api;
let installer: Installer;
// A folder holding just `node`, the pinned Node these tests run on (the version the manifest names).
let pinnedNodeBin = '';
let manifest: { nodeVersion: string; runtimes: Record<string, { sha256: string }> };
// The agent each server's install left running in the foreground.
const agents = new Map<string, LoggedProcess>();

/** A server's shell with exactly the pinned Node first on its PATH. */
const withNode = (dirs: Layout, dockerHost = dockerd!.dockerHost) =>
  cleanEnv({
    PATH: `${pinnedNodeBin}:${process.env['PATH'] ?? ''}`,
    DOCKER_HOST: dockerHost,
    TMPDIR: dirs.tmp,
    BERTH_CADDY_ADMIN_URL: caddy!.adminUrl,
  });

/** A server's shell whose PATH is just `bin`: the tools install.sh needs, plus whatever node the test put there. */
const withToolsOnly = (bin: string, dirs: Layout) => ({
  PATH: bin,
  HOME: path.dirname(dirs.prefix),
  TMPDIR: dirs.tmp,
  DOCKER_HOST: dockerd!.dockerHost,
  BERTH_CADDY_ADMIN_URL: caddy!.adminUrl,
});

/** The program the agent process of an install runs on (its `berth agent` log line names its pid). */
async function agentProgram(run: LoggedProcess): Promise<string> {
  const line = await run.waitForLog((l) => l['msg'] === 'berth agent');
  return readlink(`/proc/${line['pid'] as number}/exe`);
}

/** Checks that an install downloaded the pinned runtime, verified, into the prefix, and that the agent runs on it. */
async function expectDownloadedRuntime(run: LoggedProcess, dirs: Layout): Promise<void> {
  const node = path.join(dirs.prefix, 'node', 'bin', 'node');
  await access(node, constants.X_OK);
  expect(await sha256(node)).toBe(manifest.runtimes[`linux-${process.arch}`]!.sha256);
  expect(run.stderr()).toContain(`(Node: ${node})`);
  expect(await agentProgram(run)).toBe(node);
}

async function waitConnected(serverId: string, since: number, what: string) {
  const view = await eventually(
    `${what}: GET /servers/${serverId} shows the agent connected`,
    async () => {
      const agent = await api.agent(serverId);
      return agent.connectionState === 'connected' ? agent : undefined;
    },
    10_000,
  );
  timings[what] = `connected ${((Date.now() - since) / 1000).toFixed(1)} s after the install command started`;
  return view;
}

/** Every check passes: the agent's session, the Docker engine and Caddy's admin API. */
function expectAgentChecks(result: ConnectivityResult, dockerVersion: string): void {
  expect(check(result, 'agent-session').status).toBe('passed');
  expect(check(result, 'docker-engine')).toMatchObject({
    status: 'passed',
    message: `Docker ${dockerVersion} answers.`,
    metadata: { commandId: expect.stringMatching(/^cmd-/), version: dockerVersion, apiVersion: expect.any(String) },
  });
  expect(check(result, 'edge-proxy')).toMatchObject({ status: 'passed', message: 'The edge proxy admin API answers.' });
  expect(result.status).toBe('healthy');
}

/** Runs a refused install to its end: exit code 1 and nothing enrolled or running. */
async function refused(run: LoggedProcess, dirs: Layout): Promise<string> {
  const exit = await Promise.race([run.exited, new Promise((r) => setTimeout(r, 20_000, 'timeout'))]);
  expect(exit, run.output()).toEqual({ code: 1, signal: null });
  expect(existsSync(path.join(dirs.stateDir, 'agent.json')), 'no enrollment may be saved').toBe(false);
  expect(existsSync(path.join(dirs.stateDir, 'credentials')), 'no key or certificate may be saved').toBe(false);
  expect(await readdir(dirs.tmp), 'the script left temporary files').toEqual([]);
  return run.stderr();
}

beforeAll(async () => {
  work = await mkdtemp('/tmp/berth-install-');
  dataDir = await makeDataDir();
  // Settled both ways before going on, so afterAll can stop whichever of the two did start.
  await settleAll([
    startDockerd().then((started) => (dockerd = started)),
    startCaddy().then((started) => (caddy = started)),
    startControlPlane(dataDir).then((started) => (cp = started)),
  ]);
  api = new Api(cp!.url);
  installer = new Installer(work, cp!.url);
  await api.bootstrap();
  pinnedNodeBin = await nodeOnlyPath(path.join(work, 'pinned-node-bin'), process.execPath);
  manifest = await api.expect(200, 'GET', '/agent/manifest');
}, 90_000);

afterAll(async () => {
  await killAllSpawned();
  await cp?.berth.stop().catch(() => undefined);
  await killAllBerthProcesses();
  await dockerd?.stop();
  await caddy?.stop();
  if (dataDir) await cleanUpDataDir(dataDir); // never with an empty pattern: it would match every process
  if (work) await rm(work, { recursive: true, force: true });
  console.info(
    `install-script timings:\n${Object.entries(timings)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}`,
  );
}, 60_000);

describe('curl <control plane>/install.sh | sh, run as a newcomer would', () => {
  it("uses the server's Node when it is exactly the pinned version, connects within 10 s and passes the checks", {
    timeout: 60_000,
  }, async () => {
    // The tests run on the pinned Node, which is what the manifest tells servers to run the agent on.
    expect(manifest.nodeVersion).toBe(process.version);
    const serverId = await api.createServer('web-pinned-node');
    const { token, caSha256 } = await api.enrollment(serverId);
    const dirs = await installer.layout('pinned-node');
    const started = Date.now();
    const run = installer.run(installer.args(dirs, token, caSha256), withNode(dirs));
    agents.set(serverId, run);

    const agent = await waitConnected(serverId, started, 'install with the pinned Node already there');
    expect(agent).toMatchObject({ agentVersion: berthVersion, dockerReachable: true });
    expect(agent.dockerVersion).toMatch(/^\d+\.\d+\.\d+/);
    const node = path.join(pinnedNodeBin, 'node');
    expect(run.stderr()).toContain(`installed agent ${berthVersion} in ${dirs.prefix} (Node: ${node})`);
    expect(run.stdout()).toContain(`(matches --ca-sha256)`);
    expect(existsSync(path.join(dirs.prefix, 'node', 'bin', 'node')), 'no runtime download when it is there').toBe(
      false,
    );
    expect(await agentProgram(run)).toBe(process.execPath);
    expectAgentChecks(await api.connectivity(serverId), agent.dockerVersion!);
    expect(await readdir(dirs.tmp), 'the script left its temporary folder behind').toEqual([]);
  });

  it('downloads and verifies the pinned Node on a server whose Node is another version, and runs on it', {
    timeout: 60_000,
  }, async () => {
    const bin = await toolsOnlyPath(path.join(work, 'bin-other-node'));
    const other = await otherNode(path.join(work, 'other-node'));
    await symlink(other.path, path.join(bin, 'node'));
    const serverId = await api.createServer('web-other-node');
    const { token, caSha256 } = await api.enrollment(serverId);
    const dirs = await installer.layout('other-node');
    const started = Date.now();
    const run = installer.run(installer.args(dirs, token, caSha256), withToolsOnly(bin, dirs), path.join(bin, 'sh'));
    agents.set(serverId, run);
    const agent = await waitConnected(serverId, started, `install next to Node ${other.version} (runtime downloaded)`);

    expect(run.stderr()).toContain(
      `the Node.js here is ${other.version} (${path.join(bin, 'node')}), not ${manifest.nodeVersion}: ` +
        `downloading Node.js ${manifest.nodeVersion} for linux-${process.arch} from the control plane`,
    );
    await expectDownloadedRuntime(run, dirs);
    expect(agent).toMatchObject({ agentVersion: berthVersion, dockerReachable: true });
    expectAgentChecks(await api.connectivity(serverId), agent.dockerVersion!);
    expect(await readdir(dirs.tmp), 'the script left its temporary folder (with a 127 MB runtime) behind').toEqual([]);
  });

  it('downloads and verifies the pinned Node on a server without Node', { timeout: 60_000 }, async () => {
    const bin = await toolsOnlyPath(path.join(work, 'bin'));
    const serverId = await api.createServer('web-no-node');
    const { token, caSha256 } = await api.enrollment(serverId);
    const dirs = await installer.layout('no-node');
    const env = withToolsOnly(bin, dirs);
    const probe = spawnLogged(path.join(bin, 'sh'), ['-c', 'command -v node'], { env });
    expect((await probe.exited).code, `node must not be reachable: ${probe.stdout()}`).not.toBe(0);

    const started = Date.now();
    const run = installer.run(installer.args(dirs, token, caSha256), env, path.join(bin, 'sh'));
    agents.set(serverId, run);
    const agent = await waitConnected(serverId, started, 'install without Node (runtime downloaded)');

    expect(run.stderr()).toContain(
      `no Node.js found: downloading Node.js ${manifest.nodeVersion} for linux-${process.arch} from the control plane`,
    );
    await expectDownloadedRuntime(run, dirs);
    expect(agent).toMatchObject({ agentVersion: berthVersion, dockerReachable: true });
    expectAgentChecks(await api.connectivity(serverId), agent.dockerVersion!);
    expect(await readdir(dirs.tmp), 'the script left its temporary folder (with a 127 MB runtime) behind').toEqual([]);
  });

  it('refuses a wrong CA pin: the agent refuses the enrollment and nothing is enrolled', {
    timeout: 30_000,
  }, async () => {
    const serverId = await api.createServer('web-wrong-pin');
    const { token, caSha256 } = await api.enrollment(serverId);
    const dirs = await installer.layout('wrong-pin');
    const stderr = await refused(installer.run(installer.args(dirs, token, wrongPin), withNode(dirs)), dirs);
    expect(stderr).toContain(`the control plane's CA fingerprint is ${caSha256}, not the expected ${wrongPin}`);
    expect(stderr).toContain('someone may be intercepting the connection');
    expect(stderr).toContain('berth-agent: error: enrollment failed (see above)');
    expect((await api.agent(serverId)).connectionState).toBe('never-connected');
  });

  it('refuses when DOCKER_HOST names a socket that does not exist, before installing anything', async () => {
    const dirs = await installer.layout('no-docker');
    const missing = path.join(work, 'no-such-docker.sock');
    const run = installer.run(installer.args(dirs, 'berth_e_unused', wrongPin), withNode(dirs, `unix://${missing}`));
    const stderr = await refused(run, dirs);
    expect(stderr).toContain(
      `berth-agent: error: no Docker engine socket at ${missing}: install Docker (apt-get install docker.io)`,
    );
    expect(existsSync(dirs.prefix)).toBe(false);
  });

  it('refuses without --token, before installing anything', async () => {
    const dirs = await installer.layout('no-token');
    const args = ['--url', cp!.url, '--prefix', dirs.prefix, '--state-dir', dirs.stateDir, '--no-systemd'];
    const stderr = await refused(installer.run(args, withNode(dirs)), dirs);
    expect(stderr).toContain(
      'berth-agent: error: --token <token> is required (POST /servers/{serverId}/credentials gives one).',
    );
    expect(existsSync(dirs.prefix)).toBe(false);
  });

  it('re-running the install with a fresh token replaces the running agent safely', { timeout: 60_000 }, async () => {
    const [serverId, previous] = [...agents.entries()][0]!;
    expect(previous.exit(), 'the first install should still be running').toBeUndefined();
    const { token, caSha256 } = await api.enrollment(serverId);
    // A new credential revokes the old one: the running agent is told so and exits with 3.
    const revokedAt = Date.now();
    const exit = await Promise.race([previous.exited, new Promise((r) => setTimeout(r, 10_000, 'timeout'))]);
    expect(exit, previous.output()).toEqual({ code: 3, signal: null });
    timings['re-run: old agent revoked'] =
      `exited 3 ${((Date.now() - revokedAt) / 1000).toFixed(1)} s after the new token`;
    const revocation = previous.logs().find((l) => String(l['msg']).startsWith('the control plane revoked this agent'));
    expect(revocation?.['reason']).toBe('a new credential was issued for this server');

    const dirs = await installer.layout('pinned-node');
    const started = Date.now();
    const run = installer.run(installer.args(dirs, token, caSha256), withNode(dirs));
    agents.set(serverId, run);
    const agent = await waitConnected(serverId, started, 're-run with a fresh token');
    expect(run.stdout()).toContain(`Enrolled as ${serverId}`);
    const enrollment = JSON.parse(await readFile(path.join(dirs.stateDir, 'agent.json'), 'utf8')) as {
      serverId: string;
    };
    expect(enrollment.serverId).toBe(serverId);
    expectAgentChecks(await api.connectivity(serverId), agent.dockerVersion!);
  });

  it('--uninstall removes the prefix and the state folder', { timeout: 60_000 }, async () => {
    // The uninstaller disables a systemd unit of that name if there is one: never touch a real one here.
    expect(existsSync('/etc/systemd/system/berth-agent.service')).toBe(false);
    for (const [serverId, run] of agents) {
      // SIGTERM to the agent itself: the shell that piped curl into sh then ends with the agent's exit code.
      const pid = run.logs().find((line) => line['msg'] === 'berth agent')?.['pid'];
      expect(pid, run.output()).toEqual(expect.any(Number));
      process.kill(pid as number, 'SIGTERM');
      expect(await run.exited, `the agent of ${serverId} should stop cleanly`).toEqual({ code: 0, signal: null });
    }
    for (const name of ['pinned-node', 'other-node', 'no-node']) {
      const dirs = await installer.layout(name);
      expect(existsSync(path.join(dirs.stateDir, 'agent.json'))).toBe(true);
      const run = installer.run(['--uninstall', '--prefix', dirs.prefix, '--state-dir', dirs.stateDir], withNode(dirs));
      expect(await run.exited, run.output()).toEqual({ code: 0, signal: null });
      expect(run.stderr()).toContain(`removed ${dirs.prefix}`);
      expect(existsSync(dirs.prefix), `${dirs.prefix} is still there`).toBe(false);
      expect(existsSync(dirs.stateDir), `${dirs.stateDir} is still there`).toBe(false);
    }
  });
});
