import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import type Dockerode from 'dockerode';
import { TerminalFromAgentSchema, type TerminalToAgent } from '../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../shared/logger.js';
import type { TerminalOpenPayload, TerminalOpenResult } from '../../shared/terminal-command.js';
import { dialTerminal, type LinkTarget } from '../connection/dial.js';
import type { CommandOutcome } from '../handlers/index.js';
import type { Containers } from '../workloads/containers.js';

/** What the terminal host uses. */
export interface TerminalHostOptions {
  docker: Pick<Dockerode, 'getContainer' | 'getExec'>;
  containers: Pick<Containers, 'findDeploymentContainer'>;
  loadTarget: () => Promise<LinkTarget>;
  log: Logger;
}

/** A running shell, whichever kind. */
interface Shell {
  write(data: Uint8Array): void;
  resize(rows: number, cols: number): void;
  stop(): void;
  onOutput(listener: (data: Buffer) => void): void;
  /** Resolves with the exit code once the shell ended. */
  exited: Promise<number>;
}

/** A shell in the container, `docker exec` with a TTY; its exit code from the exec's inspect. */
async function containerShell(
  docker: TerminalHostOptions['docker'],
  containerId: string,
  size: { rows: number; cols: number },
) {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ['/bin/sh'],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
    Env: ['TERM=xterm-256color'],
  });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
  await exec.resize({ h: size.rows, w: size.cols }).catch(() => undefined);
  const exited = new Promise<number>((resolve) => {
    const done = () =>
      void exec
        .inspect()
        .then((info) => resolve(info.ExitCode ?? 0))
        .catch(() => resolve(-1));
    stream.once('end', done);
    stream.once('close', done);
  });
  const shell: Shell = {
    write: (data) => stream.write(data),
    resize: (rows, cols) => void exec.resize({ h: rows, w: cols }).catch(() => undefined),
    stop: () => stream.end('exit\n'),
    onOutput: (listener) => stream.on('data', listener),
    exited,
  };
  return shell;
}

/** A shell on the server: `/bin/sh` under util-linux `script`, which gives it a pseudo-terminal. */
function serverShell(): Shell {
  const child = spawn('script', ['-qfc', '/bin/sh', '/dev/null'], {
    env: { ...process.env, TERM: 'xterm-256color' },
    cwd: os.homedir(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return {
    write: (data) => child.stdin.write(data),
    resize: () => undefined,
    stop: () => child.kill('SIGHUP'),
    onOutput: (listener) => {
      child.stdout.on('data', listener);
      child.stderr.on('data', listener);
    },
    exited,
  };
}

/**
 * Runs terminal sessions: for `terminal.open` it starts the shell, opens a `Terminal` stream of its own to the
 * control plane (named by the session's first frame) and relays both ways until the shell ends or the control plane
 * closes the session. The command answers as soon as the shell runs; the session lives on in the background.
 */
export function createTerminalHost(options: TerminalHostOptions) {
  const { log } = options;
  const sessions = new Map<string, Shell>();

  async function open(payload: TerminalOpenPayload): Promise<CommandOutcome<TerminalOpenResult>> {
    let shell: Shell;
    let target: string;
    if (payload.target.kind === 'container') {
      const container = await options.containers.findDeploymentContainer(payload.target.deploymentId);
      if (container === null || !container.running) {
        return {
          succeeded: false,
          errorCode: container === null ? 'container_not_found' : 'container_not_running',
          errorMessage:
            container === null
              ? `no container of deployment ${payload.target.deploymentId} on this server`
              : `container ${container.name} is not running: start the resource first`,
        };
      }
      shell = await containerShell(options.docker, container.id, payload);
      target = container.name;
    } else {
      shell = serverShell();
      target = os.hostname();
    }
    const { client, call } = dialTerminal(await options.loadTarget());
    sessions.set(payload.sessionId, shell);
    const send = (frame: Parameters<typeof create<typeof TerminalFromAgentSchema>>[1]) => {
      if (!call.writableEnded) call.write(create(TerminalFromAgentSchema, frame));
    };
    send({ payload: { case: 'openSessionId', value: payload.sessionId } });
    shell.onOutput((data) => send({ payload: { case: 'output', value: new Uint8Array(data) } }));
    call.on('data', (frame: TerminalToAgent) => {
      if (frame.payload.case === 'input') shell.write(frame.payload.value);
      else if (frame.payload.case === 'resize') shell.resize(frame.payload.value.rows, frame.payload.value.cols);
      else if (frame.payload.case === 'closeReason') shell.stop();
    });
    // The control plane went away: end the shell rather than leave it running unattended.
    call.on('error', () => shell.stop());
    call.on('end', () => shell.stop());
    void shell.exited.then((code) => {
      sessions.delete(payload.sessionId);
      send({ payload: { case: 'exitCode', value: code } });
      call.end();
      setTimeout(() => client.close(), 1_000).unref();
      log.info({ sessionId: payload.sessionId, exitCode: code }, 'terminal session ended');
    });
    log.info({ sessionId: payload.sessionId, target }, 'terminal session started');
    return {
      succeeded: true,
      result: {
        started: true,
        target,
        tty: true,
        workingDirectory: payload.target.kind === 'server' ? os.homedir() : '/',
      },
    };
  }

  return {
    open,
    /** Ends every session (the agent is stopping). */
    stopAll() {
      for (const shell of sessions.values()) shell.stop();
    },
  };
}
export type TerminalHost = ReturnType<typeof createTerminalHost>;
