import { symlink, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind, eventKind } from '../../../shared/command-catalogue.js';
import { agentStatus, handlerRuns, replayCacheIds, replayedAnswers, spooledEvents } from './agent-files.js';
import { check } from './control-plane.js';
import { FaultRig, heartbeatIntervalMs, seconds, unreachableAfterMs } from './faults-rig.js';
import { eventually } from './processes.js';

const rig = new FaultRig();

beforeAll(() => rig.start(), 120_000);

afterAll(async () => {
  await rig.stop();
  console.info(
    `fault timings:\n${Object.entries(rig.timings)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}`,
  );
}, 60_000);

describe('the agent link under faults (control plane, agent and Docker as real processes)', () => {
  it('marks a kill -9ed agent unreachable within unreachableAfterMs + 2 s, and connected within 5 s of a restart', async () => {
    const killedAt = Date.now();
    expect(await rig.agent.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // On loopback the kernel closes a dead agent's sockets, so the gateway usually knows at once; the silence rule
    // (next test) bounds it for a host that vanished without a word.
    await rig.reaches('unreachable', unreachableAfterMs + 2_000, 'kill -9 of the agent', killedAt);

    const restartedAt = Date.now();
    rig.startAgent();
    await rig.reaches('connected', 5_000, 'agent restarted after kill -9', restartedAt);
    // The new process's agent.started event waited in its spool until the link was open, then arrived.
    await eventually(
      'the spooled agent.started event reaches the control plane',
      () => rig.events(eventKind.agentStarted).find((e) => Date.parse(String(e['observedAt'])) >= restartedAt),
      5_000,
    );
  });

  it('marks a frozen agent unreachable after unreachableAfterMs of silence; it reconnects once it thaws', async () => {
    rig.agent.signal('SIGSTOP');
    const frozenAt = Date.now();
    await rig.reaches('unreachable', unreachableAfterMs + 2_000, 'agent frozen (SIGSTOP)', frozenAt);
    // Its TCP connection stayed up: only the missing heartbeats can have told.
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(unreachableAfterMs - heartbeatIntervalMs - 250);
    const reason = /^no message from the agent for more than/;
    expect(rig.gatewayLines((l) => reason.test(String(l['reason']))).length).toBeGreaterThan(0);
    const thawedAt = Date.now();
    rig.agent.signal('SIGCONT');
    await rig.reaches('connected', 5_000, 'frozen agent thawed (SIGCONT)', thawedAt);
  });

  it('completes every command queued around a control-plane restart exactly once', { timeout: 90_000 }, async () => {
    const { commands, dockerd, serverId } = rig;
    const queue = (kind: string, count: number) =>
      Promise.all(Array.from({ length: count }, () => commands!.queue(serverId, kind, 60_000)));
    // A frozen engine holds docker.info in the agent for its 3 s timeout: the control plane stops between the
    // agent's ack and its result, which the agent then caches because no link is open.
    process.kill(dockerd!.pid, 'SIGSTOP');
    let acknowledged: string[] = [];
    let before: string[] = [];
    try {
      acknowledged = await queue(commandKind.dockerInfo, 2);
      const acked = async () => (await commands!.rows(acknowledged)).every((row) => row.state === 'acknowledged');
      await eventually('the agent acknowledges the docker.info commands', acked, 5_000, 25);
      // Queued right before SIGTERM: each may be caught anywhere between queued and answered.
      before = await queue(commandKind.hostFacts, 6);
      expect(await rig.cp!.stop('SIGTERM')).toBe(0);
    } finally {
      process.kill(dockerd!.pid, 'SIGCONT');
    }
    const cachedAll = async () => {
      const cached = await replayCacheIds(rig.stateDir);
      return acknowledged.every((id) => cached.includes(id));
    };
    await eventually('the agent caches the results it could not send', cachedAll, 10_000);
    // Queued while no control plane runs at all.
    const during = await queue(commandKind.hostFacts, 4);
    const restartedAt = Date.now();
    await rig.bootControlPlane();
    await rig.reaches('connected', 25_000, 'control plane restarted (SIGTERM, same data dir and ports)', restartedAt);

    const ids = [...acknowledged, ...before, ...during];
    const done = async () => (await commands!.rows(ids)).every((row) => row.state === 'succeeded');
    await eventually('every command succeeds', done, 15_000).catch(() => false);
    const rows = await commands!.rows(ids);
    const states = Object.fromEntries(rows.map((row) => [row.id, row.state]));
    expect(states, 'command states after the restart').toEqual(Object.fromEntries(ids.map((id) => [id, 'succeeded'])));
    const cache = await replayCacheIds(rig.stateDir);
    for (const id of ids) {
      expect(
        cache.filter((cached) => cached === id),
        `${id} in the replay cache`,
      ).toHaveLength(1);
      expect(handlerRuns(rig.agentRuns, id), `${id}: times its handler ran`).toBe(1);
    }
    // The acknowledged ones were sent again after the restart and answered from the replay cache.
    for (const id of acknowledged) expect(replayedAnswers(rig.agentRuns, id), `${id} replayed`).toBe(1);
    const resent = rows.filter((row) => row.sendCount > 1).length;
    const replayed = ids.reduce((sum, id) => sum + replayedAnswers(rig.agentRuns, id), 0);
    rig.timings['commands across the restart'] =
      `${ids.length} succeeded, each handler run once; ${resent} sent twice, ${replayed} answered from the replay cache`;
  });

  it('survives a 30 s link cut: unreachable, back after it, queued work delivered, events spooled', {
    timeout: 90_000,
  }, async () => {
    const { commands, proxy, serverId, stateDir } = rig;
    // A fresh agent process (stopped cleanly first: it says Goodbye). It checks Docker when it starts and every
    // 30 s after, so cutting 6 s after its start puts the next check well inside the cut.
    expect(await rig.agent.stop('SIGTERM'), rig.agent.output()).toEqual({ code: 0, signal: null });
    expect(rig.gatewayLines((l) => l['msg'] === 'the agent is leaving').length).toBeGreaterThan(0);
    const restartedAt = Date.now();
    rig.startAgent();
    const starting = await rig.agent.waitForLog((l) => l['msg'] === 'agent starting');
    await rig.reaches('connected', 10_000, 'agent restarted (after a clean stop) before the cut', restartedAt);
    await sleep(Math.max(0, Date.parse(String(starting['time'])) + 6_000 - Date.now()));

    const cutAt = Date.now();
    proxy!.cut();
    await unlink(rig.dockerLink); // Docker vanishes too, so the agent has news while it is cut off
    await rig.reaches('unreachable', unreachableAfterMs + 2_000, 'link cut', cutAt);
    const during = await rig.api.connectivity(serverId);
    expect(during.status).toBe('unreachable');
    expect(check(during, 'agent-session')).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/^The agent is unreachable/),
    });
    expect(check(during, 'docker-engine').status).toBe('skipped');
    const queued = await commands!.queue(serverId, commandKind.hostFacts, 90_000);

    // The agent sees Docker gone at its next check and spools the event: there is no link to send it on.
    const spooled = await eventually(
      'docker.unreachable waits in the agent spool during the cut',
      async () => (await spooledEvents(stateDir)).find((e) => e.kind === eventKind.dockerUnreachable),
      Math.max(0, cutAt + 29_500 - Date.now()),
      250,
    );
    expect((await agentStatus(stateDir))?.['state']).toMatch(/^(backoff|connecting)$/);
    await sleep(Math.max(0, cutAt + 30_000 - Date.now()));
    expect((await commands!.rows([queued]))[0]).toMatchObject({ state: 'queued', sendCount: 0 });
    const restoredAt = Date.now();
    rig.timings['link cut'] += `; restored after ${seconds(cutAt)}`;
    proxy!.restore();
    await rig.reaches('connected', 10_000, 'link restored after the 30 s cut', restoredAt);
    await symlink(rig.dockerd!.socketPath, rig.dockerLink);

    const row = await eventually(
      'the command queued during the cut completes',
      async () => (await commands!.rows([queued])).find((r) => r.state === 'succeeded'),
      10_000,
    );
    expect(row.sentAt!.getTime()).toBeGreaterThanOrEqual(restoredAt - 1_000);
    expect(handlerRuns(rig.agentRuns, queued)).toBe(1);
    const arrived = await eventually(
      'the spooled docker.unreachable event reaches the control plane',
      () => rig.events(eventKind.dockerUnreachable).find((e) => e['observedAt'] === spooled.observedAt),
      5_000,
    );
    expect(Date.parse(spooled.observedAt)).toBeGreaterThan(cutAt);
    expect(Date.parse(String(arrived['time']))).toBeGreaterThanOrEqual(restoredAt);
    expect(await spooledEvents(stateDir)).toEqual([]);
  });

  it('ends the live session within 5 s of deactivating the server; the agent says why and exits 3', async () => {
    const deactivatedAt = Date.now();
    await rig.api.expect(200, 'POST', `/servers/${rig.serverId}/deactivate`, { reason: 'decommissioned' });
    const exit = await Promise.race([rig.agent.exited, sleep(5_000, 'still running')]);
    expect(exit, rig.agent.output()).toEqual({ code: 3, signal: null });
    rig.timings['deactivation'] = `agent exited 3 after ${seconds(deactivatedAt)}`;
    const revoked = rig.agent.logs().find((l) => String(l['msg']).startsWith('the control plane revoked this agent'));
    expect(revoked?.['reason']).toBe('the server was deactivated');
    const ended = rig.gatewayLines(
      (l) => l['msg'] === 'ending the agent session' && l['reason'] === revoked?.['reason'],
    );
    expect(ended.length).toBeGreaterThan(0);
    expect((await rig.api.agent(rig.serverId)).connectionState).toBe('unreachable');
    // Starting it again does not get it back in: it is refused at its Hello and exits 3 again.
    const again = rig.startAgent();
    expect(await Promise.race([again.exited, sleep(10_000, 'still running')]), again.output()).toEqual({
      code: 3,
      signal: null,
    });
  });
});
