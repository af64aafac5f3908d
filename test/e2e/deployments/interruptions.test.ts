import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventKind } from '../../../shared/command-catalogue.js';
import { handlerRuns, spooledEvents } from '../agent/agent-files.js';
import { seconds } from '../agent/faults-rig.js';
import { eventually } from '../agent/processes.js';
import { type DeploymentEventView, DeployRig } from './deploy-rig.js';

// Issue scope 5: a deployment resumes from its last recorded step or ends with a truthful reason after its
// deadline; it is never repeated silently and never left running forever. One rig for the file: the tests run in
// order and each starts from the version the previous one left serving. The order also keeps the agent's reconnect
// backoff predictable: its attempt count only resets after 10 s on an open link, so the link cut comes last, on
// the fresh agent process of the test before it.
const rig = new DeployRig();
let appUrl = '';
/** The deployment that ended `interrupted` while its agent was gone; the test after it brings the agent back. */
let interruptedId = '';

// The shortest deadline the control plane accepts (BERTH_DEPLOYMENT_DEADLINE_SECONDS). The control-plane restart of
// the first test sets it for the deployments created after it, and the agent-gone test, the only one to run under
// it, restarts the control plane with the default again.
const shortDeadlineMs = 10_000;
const shortDeadline = { BERTH_DEPLOYMENT_DEADLINE_SECONDS: String(shortDeadlineMs / 1000) };

beforeAll(async () => {
  await rig.start();
  await Promise.all([rig.images.web('v3'), rig.images.web('v4')]);
  const started = Date.now();
  const first = await rig.ended(await rig.deploy());
  expect(first.status, `${first.errorCode}: ${first.errorMessage}`).toBe('succeeded');
  rig.timings['baseline deploy (v1), request to succeeded'] = seconds(started);
  appUrl = first.directUrl!;
  expect(await rig.answer(appUrl)).toBe('v1');
  // From here on verification lasts at least 4 s: room to interrupt it once the new container runs.
  await rig.setHealthCheck({ retries: 3, startPeriodSeconds: 4 });
}, 120_000);

afterAll(async () => {
  console.log('deployment interruption timings', rig.timings);
  await rig.stop();
}, 60_000);

const count = (events: DeploymentEventView[], type: string) => events.filter((e) => e.eventType === type).length;

/**
 * The events are numbered 1, 2, 3… without a gap or a repeat, their emission times never go backwards, and the
 * steps the agent ran once each appear once, in the pipeline's order.
 */
function expectOneOrderedRun(events: DeploymentEventView[], steps: string[]): void {
  expect(
    events.map((e) => e.sequence),
    'sequence numbers',
  ).toEqual(events.map((_, i) => i + 1));
  const times = events.map((e) => Date.parse(e.emittedAt));
  for (let i = 1; i < times.length; i += 1) {
    expect(times[i], `${events[i]!.eventType} (#${i + 1}) emitted before the event before it`).toBeGreaterThanOrEqual(
      times[i - 1]!,
    );
  }
  for (const step of steps) expect(count(events, step), `${step} events`).toBe(1);
  expect(count(events, 'deployment-resumed'), 'deployment-resumed events').toBe(0);
  const positions = steps.map((step) => events.findIndex((e) => e.eventType === step));
  expect(positions, `positions of ${steps.join(', ')}`).toEqual([...positions].sort((a, b) => a - b));
}

const fullRun = [
  'deployment-requested',
  'deployment-planned',
  'deployment-started',
  'image-ready',
  'container-started',
  'health-check-passed',
  'verification-succeeded',
  'traffic-switched',
  'previous-stopped',
  'deployment-succeeded',
];

describe('deployments interrupted by their surroundings (control plane, link, agent as real processes)', () => {
  it('a control plane restarted during verification: the deployment ends succeeded, each step ran once', {
    timeout: 60_000,
  }, async () => {
    await rig.setImage('berth-test/web:v2');
    const id = await rig.deploy();
    await rig.containerRuns(id);
    // Same data folder, database and ports; the short deadline applies to deployments created from now on only.
    await rig.restartControlPlane(shortDeadline);
    const backAt = Date.now();
    const view = await rig.ended(id, 45_000);
    expect(view.status, `${view.errorCode}: ${view.errorMessage}`).toBe('succeeded');
    rig.timings['control plane restart: succeeded after it was back'] = seconds(backAt);
    expect(view.directUrl).toBe(appUrl);
    expect(await rig.answer(appUrl)).toBe('v2');
    expect(await rig.containers()).toEqual([{ deploymentId: id, state: 'running' }]);
    expectOneOrderedRun(await rig.deploymentEvents(id), fullRun);
    // The new control plane sent the command again; the agent did not run it again.
    const command = await rig.applyCommand(id);
    expect(command.state).toBe('succeeded');
    expect(command.sendCount).toBeGreaterThanOrEqual(2);
    expect(handlerRuns(rig.agentRuns, command.id), 'times the agent ran the deployment').toBe(1);
  });

  it('an agent gone for good during verification: the deployment ends interrupted at its deadline, with the reason', {
    timeout: 60_000,
  }, async () => {
    await rig.setImage('berth-test/web:v3');
    const id = await rig.deploy();
    interruptedId = id;
    // Killed once the control plane knows the container started: verification is what gets interrupted.
    await rig.recorded(id, 'container-started');
    rig.agent.signal('SIGKILL');
    await rig.agent.exited;
    await rig.reaches('unreachable', 10_000, 'agent killed (kill -9) during verification, not restarted');
    expect((await rig.deployment(id)).status, 'right after the kill').toBe('running');
    // The deadline is stored with the deployment, so a control plane restarted meanwhile still enforces it. The
    // restart also goes back to the default deadline, for the deployments of the tests after this one.
    await rig.restartControlPlane();
    const backAt = Date.now();
    const view = await rig.ended(id, shortDeadlineMs + 15_000);
    rig.timings['agent gone: interrupted after the control plane was back'] = seconds(backAt);
    expect(view).toMatchObject({ status: 'interrupted', errorCode: 'deadline_exceeded' });
    expect(view.errorMessage).toMatch(/not reachable before the deployment deadline/);
    const events = await rig.deploymentEvents(id);
    const requested = Date.parse(events[0]!.emittedAt);
    const interrupted = Date.parse(events.at(-1)!.emittedAt);
    rig.timings[`agent gone: interrupted after (deadline ${shortDeadlineMs / 1000} s)`] =
      `${((interrupted - requested) / 1000).toFixed(1)} s`;
    expect(events[0]!.eventType).toBe('deployment-requested');
    expect(events.at(-1)).toMatchObject({ eventType: 'deployment-interrupted', status: 'interrupted' });
    // Not before its deadline, and at the first sweep (once a second) of a control plane that is up.
    expect(interrupted - requested).toBeGreaterThanOrEqual(shortDeadlineMs);
    expect(interrupted).toBeLessThan(Math.max(requested + shortDeadlineMs, backAt) + 5_000);
    expect(count(events, 'deployment-interrupted')).toBe(1);
    expect(count(events, 'container-started')).toBe(1);
    expect(count(events, 'traffic-switched')).toBe(0);
    // Traffic never moved to the unverified container: the version that served before still does.
    expect(await rig.answer(appUrl)).toBe('v2');
  });

  it('an agent back after its deployment was interrupted does not resume it; a retry then succeeds', {
    timeout: 60_000,
  }, async () => {
    expect(interruptedId, 'the previous test left an interrupted deployment').not.toBe('');
    const command = await rig.applyCommand(interruptedId);
    expect(command).toMatchObject({ state: 'expired', errorCode: 'deadline_exceeded' });
    const eventsBefore = await rig.deploymentEvents(interruptedId);
    const restartedAt = Date.now();
    rig.startAgent();
    await rig.reaches('connected', 30_000, 'agent restarted after its deployment was interrupted', restartedAt);
    // Its spool goes out before anything it emits on the new link, and commands are offered as the link opens:
    // once this process's agent.started has arrived (and a moment more), a resend would have happened.
    await eventually(
      'the new agent process says it started',
      () => rig.events(eventKind.agentStarted).find((e) => Date.parse(String(e['observedAt'])) >= restartedAt),
      10_000,
    );
    await sleep(1_000);
    expect(await rig.deployment(interruptedId)).toMatchObject({
      status: 'interrupted',
      errorCode: 'deadline_exceeded',
    });
    expect(await rig.deploymentEvents(interruptedId)).toEqual(eventsBefore);
    expect(await rig.applyCommand(interruptedId)).toMatchObject({ state: 'expired', sendCount: command.sendCount });
    expect(handlerRuns(rig.agentRuns, command.id), 'times an agent finished the interrupted deployment').toBe(0);
    expect(await rig.answer(appUrl)).toBe('v2');
    // The control plane queued a clean-up when it gave up on the deployment: the container it left is removed.
    await eventually(
      'the interrupted deployment’s container is removed',
      async () => ((await rig.containers()).some((c) => c.deploymentId === interruptedId) ? undefined : true),
      15_000,
      200,
    );
    expect((await rig.containers()).map((c) => c.state)).toEqual(['running']);

    const retriedAt = Date.now();
    const retry = await rig.api.expect<{ id: string }>(201, 'POST', `/deployments/${interruptedId}/retry`, {});
    const view = await rig.ended(retry.id, 45_000);
    expect(view.status, `${view.errorCode}: ${view.errorMessage}`).toBe('succeeded');
    rig.timings['retry of the interrupted deployment, request to succeeded'] = seconds(retriedAt);
    expect(await rig.answer(appUrl)).toBe('v3');
    // Only the retry's container is left: the interrupted deployment's went with the previous version's.
    expect(await rig.containers()).toEqual([{ deploymentId: retry.id, state: 'running' }]);
    expect((await rig.deployment(interruptedId)).status).toBe('interrupted');
  });

  it('a link cut during verification: the events spooled meanwhile arrive in order and it ends succeeded', {
    timeout: 60_000,
  }, async () => {
    await rig.setImage('berth-test/web:v4');
    const id = await rig.deploy();
    await rig.containerRuns(id);
    const cutAt = Date.now();
    rig.proxy!.cut();
    // Longer than the rest of the verification (4 s start period), so its events wait in the agent's spool.
    await sleep(6_000);
    const during = await rig.deployment(id);
    rig.proxy!.restore();
    const restoredAt = Date.now();
    expect(during.status, 'while the link was cut').toBe('running');
    const view = await rig.ended(id, 45_000);
    expect(view.status, `${view.errorCode}: ${view.errorMessage}`).toBe('succeeded');
    rig.timings['link cut for 6 s: succeeded after it was restored'] = seconds(restoredAt);
    expect(await rig.answer(appUrl)).toBe('v4');
    expect(await rig.containers()).toEqual([{ deploymentId: id, state: 'running' }]);
    const events = await rig.deploymentEvents(id);
    expectOneOrderedRun(events, fullRun);
    // These happened on the agent while it was cut off: they came from its spool, stamped when they happened.
    for (const step of ['health-check-passed', 'verification-succeeded', 'traffic-switched']) {
      const at = Date.parse(events.find((e) => e.eventType === step)!.emittedAt);
      expect(at, `${step} emitted during the cut`).toBeGreaterThan(cutAt);
      expect(at, `${step} emitted during the cut`).toBeLessThan(restoredAt);
    }
    expect(await spooledEvents(rig.stateDir)).toEqual([]);
    const command = await rig.applyCommand(id);
    expect(command.sendCount).toBeGreaterThanOrEqual(2);
    expect(handlerRuns(rig.agentRuns, command.id), 'times the agent ran the deployment').toBe(1);
  });
});
