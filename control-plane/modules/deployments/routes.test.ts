import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind, eventKind } from '../../../shared/command-catalogue.js';
import type { DeploymentApplyPayload } from '../../../shared/deployment-command.js';
import { type Command, EventSchema } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { sampleResultOf, sampleResults } from '../../../test/helpers/command-samples.js';
import { type DeployFixture, startDeployFixture } from '../../../test/helpers/deploy-fixture.js';
import type { FakeAgent, FakeCommandOutcome } from '../../../test/helpers/fake-agent.js';

let f: DeployFixture;
const decoder = new TextDecoder();

beforeAll(async () => {
  f = await startDeployFixture();
});
afterAll(async () => f?.close());

function report(agent: FakeAgent, kind: string, attributes: Record<string, string>) {
  agent.send({
    case: 'event',
    value: create(EventSchema, { kind, observedAt: timestampFromDate(new Date()), attributes }),
  });
}

/** An agent that reports the usual steps and succeeds, remembering the payloads it got. */
function succeedingAgent(payloads: DeploymentApplyPayload[]) {
  return async (command: Command, agent: FakeAgent): Promise<FakeCommandOutcome> => {
    if (command.kind !== commandKind.deploymentApply) return { succeeded: true, result: sampleResultOf(command.kind) };
    const payload = JSON.parse(decoder.decode(command.payloadJson)) as DeploymentApplyPayload;
    payloads.push(payload);
    const deploymentId = payload.spec.deploymentId;
    report(agent, eventKind.deploymentProgress, {
      deploymentId,
      eventType: 'deployment-started',
      phase: 'start',
      status: 'running',
      summary: 'started',
    });
    report(agent, eventKind.deploymentLog, {
      deploymentId,
      message: `booting with key ${payload.spec.env['API_KEY']}`,
      phase: 'verify',
    });
    report(agent, eventKind.deploymentProgress, {
      deploymentId,
      eventType: 'health-check-passed',
      phase: 'verify',
      status: 'running',
      summary: 'GET / answered 200',
    });
    return {
      succeeded: true,
      result: {
        containerId: 'c1',
        containerName: 'berth-web-1',
        accessUrl: 'http://127.0.0.1:20001',
        listenPort: 20001,
        trafficSwitch: 'caddy',
        replacedDeploymentIds: [],
      },
    };
  };
}

async function deploy(input: { projectId: string; environmentId: string; resourceId: string; serverId: string }) {
  return f.t.request({ method: 'POST', url: '/deployments', token: f.token, json: input });
}

async function waitForStatus(id: string, statuses: string[], timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = (await f.t.request({ method: 'GET', url: `/deployments/${id}`, token: f.token })).json();
    if (statuses.includes(shown.deployment.status) || Date.now() > deadline) return shown;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deployments through the agent link', () => {
  it('snapshots the configuration, sends the agent the values in clear, and ends succeeded with the agent’s answer', async () => {
    const payloads: DeploymentApplyPayload[] = [];
    const { serverId } = await f.connectServer(succeedingAgent(payloads));
    const ids = await f.createResource();
    const created = await deploy({ ...ids, serverId });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json();
    const shown = await waitForStatus(id, ['succeeded', 'failed']);
    expect(shown.deployment).toMatchObject({
      status: 'succeeded',
      // No edge proxy was seen serving on this (fake) agent's server, so users reach it at the agent's port.
      accessUrl: 'http://127.0.0.1:20001',
      directUrl: 'http://127.0.0.1:20001',
      triggerKind: 'create',
    });
    expect(payloads[0]!.spec).toMatchObject({
      image: 'berth-test/web:1',
      internalPort: 8080,
      env: { GREETING: 'hello', API_KEY: 'sk-deploy-fixture-secret' },
    });
    // Nothing the API returns, nor the stored command, holds the secret; the log line that printed it is masked.
    const logs = (await f.t.request({ method: 'GET', url: `/deployments/${id}/logs`, token: f.token })).json();
    expect(logs.logs).toEqual([expect.objectContaining({ message: 'booting with key ****', masked: true })]);
    const stored = await f.t.orm.em
      .fork()
      .getConnection()
      .execute<{ payload: unknown }[]>('select payload from agent_commands');
    expect(JSON.stringify(stored)).not.toContain('sk-deploy-fixture-secret');
    expect(JSON.stringify(shown)).not.toContain('sk-deploy-fixture-secret');
    const events = (await f.t.request({ method: 'GET', url: `/deployments/${id}/events`, token: f.token })).json();
    expect(events.envelopes.map((e: { event: { eventType: string } }) => e.event.eventType)).toEqual([
      'deployment-requested',
      'deployment-planned',
      'deployment-started',
      'health-check-passed',
      'deployment-succeeded',
    ]);
    expect(events.envelopes.map((e: { event: { sequence: number } }) => e.event.sequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it('streams events as SSE, and a client resuming with Last-Event-ID misses nothing and sees nothing twice', async () => {
    const { serverId } = await f.connectServer(succeedingAgent([]));
    const ids = await f.createResource();
    const { id } = (await deploy({ ...ids, serverId })).json();
    await waitForStatus(id, ['succeeded']);
    const full = await f.t.request({
      method: 'GET',
      url: `/deployments/${id}/events/stream?untilTerminal=true`,
      token: f.token,
    });
    expect(full.headers['content-type']).toMatch(/^text\/event-stream/);
    const frames = full.body.split('\n\n').filter(Boolean);
    const ids_ = frames.map((frame) => /^id: (\d+)$/m.exec(frame)?.[1]).filter(Boolean) as string[];
    expect(ids_).toHaveLength(5);
    expect(JSON.parse(/^data: (.*)$/m.exec(frames.at(-1)!)![1]!)).toMatchObject({ kind: 'terminal' });
    const resumed = await f.t.request({
      method: 'GET',
      url: `/deployments/${id}/events/stream?untilTerminal=true`,
      token: f.token,
      headers: { 'last-event-id': ids_[1]! },
    });
    const resumedIds = resumed.body
      .split('\n\n')
      .map((frame) => /^id: (\d+)$/m.exec(frame)?.[1])
      .filter(Boolean);
    expect(resumedIds).toEqual(ids_.slice(2));
  });

  it('refuses a second deployment of a resource while one is under way, naming it', async () => {
    // The agent takes its time, so the first deployment is still under way when the second is asked for.
    const slow = { succeeded: false, errorCode: 'unhealthy', errorMessage: 'slow test agent' };
    const { serverId } = await f.connectServer(
      () => new Promise<FakeCommandOutcome>((r) => setTimeout(() => r(slow), 2000)),
    );
    const ids = await f.createResource();
    const first = (await deploy({ ...ids, serverId })).json();
    const second = await deploy({ ...ids, serverId });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: 'CONFLICT', details: { activeDeploymentId: first.id } });
    expect(second.json().hint).toContain(`/deployments/${first.id}/cancel`);
  });

  it('cancels a deployment the agent is running, and refuses to cancel one that ended', async () => {
    const { serverId } = await f.connectServer(async (command, agent) => {
      if (command.kind !== commandKind.deploymentApply)
        return { succeeded: true, result: sampleResultOf(command.kind) };
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline && !agent.payloads('command').some((c) => c.kind === commandKind.deploymentCancel)) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return {
        succeeded: false,
        errorCode: 'canceled',
        errorMessage: 'Canceled during verification; the new container was removed.',
      };
    });
    const ids = await f.createResource();
    const { id } = (await deploy({ ...ids, serverId })).json();
    const wrong = await f.t.request({
      method: 'POST',
      url: `/deployments/${id}/cancel`,
      token: f.token,
      json: { confirm: 'nope' },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().field).toBe('confirm');
    const canceled = await f.t.request({
      method: 'POST',
      url: `/deployments/${id}/cancel`,
      token: f.token,
      json: { confirm: id },
    });
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(canceled.json()).toMatchObject({ id, status: 'canceled' });
    const again = await f.t.request({
      method: 'POST',
      url: `/deployments/${id}/cancel`,
      token: f.token,
      json: { confirm: id },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().details).toEqual({ status: 'canceled' });
  });

  it('ends failed with the agent’s reason, and a retry runs the same snapshot', async () => {
    let attempts = 0;
    const { serverId } = await f.connectServer(async (command) => {
      if (command.kind !== commandKind.deploymentApply)
        return { succeeded: true, result: sampleResultOf(command.kind) };
      attempts += 1;
      return attempts === 1
        ? {
            succeeded: false,
            errorCode: 'unhealthy',
            errorMessage: 'GET / answered 500 three times; the previous version keeps serving.',
          }
        : {
            succeeded: true,
            result: { ...sampleResults[commandKind.deploymentApply], containerName: 'x', accessUrl: null },
          };
    });
    const ids = await f.createResource();
    const { id } = (await deploy({ ...ids, serverId })).json();
    const failed = await waitForStatus(id, ['failed']);
    expect(failed.deployment).toMatchObject({ status: 'failed', errorCode: 'unhealthy' });
    expect(failed.latestFailure.message).toContain('previous version keeps serving');
    expect(failed.recoverySummary).toMatchObject({ retryable: true, rollbackReady: false });
    const retry = await f.t.request({ method: 'POST', url: `/deployments/${id}/retry`, token: f.token, json: {} });
    expect(retry.statusCode, retry.body).toBe(201);
    const retried = await waitForStatus(retry.json().id, ['succeeded']);
    expect(retried.deployment).toMatchObject({ triggerKind: 'retry', sourceDeploymentId: id });
  });

  it.each([
    ['an unknown resource', { resourceId: 'res-nope' }, 404, 'resourceId'],
    ['a project that is not the resource’s', { projectId: 'prj-other' }, 400, 'projectId'],
    ['an unknown server', { serverId: 'srv-nope' }, 404, 'serverId'],
  ])('refuses %s with a clear envelope', async (_name, override, status, field) => {
    const ids = await f.createResource();
    const res = await deploy({ ...ids, serverId: 'srv-nope', ...override } as never);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().field).toBe(field);
  });

  it('refuses a resource without a source, a locked environment, a never-connected server and a rollback with no earlier success', async () => {
    const { serverId } = await f.connectServer(succeedingAgent([]));
    const ids = await f.createResource();
    const bare = await f.t.request({
      method: 'POST',
      url: '/resources',
      token: f.token,
      json: { projectId: ids.projectId, environmentId: ids.environmentId, name: 'bare' },
    });
    const noSource = await deploy({ ...ids, resourceId: bare.json().id, serverId });
    expect(noSource.statusCode).toBe(409);
    expect(noSource.json().hint).toContain('/source');
    const offline = (
      await f.t.request({
        method: 'POST',
        url: '/servers',
        token: f.token,
        json: { name: 'offline', host: 'h', providerKey: 'p' },
      })
    ).json().id;
    const unreachable = await deploy({ ...ids, serverId: offline });
    expect(unreachable.statusCode).toBe(409);
    expect(unreachable.json().details).toMatchObject({ connectionState: 'never-connected' });
    const { id } = (await deploy({ ...ids, serverId })).json();
    await waitForStatus(id, ['succeeded']);
    const rollback = await f.t.request({
      method: 'POST',
      url: `/deployments/${id}/rollback`,
      token: f.token,
      json: {},
    });
    expect(rollback.statusCode).toBe(409);
    expect(rollback.json().message).toContain('no earlier successful deployment');
    await f.t.request({ method: 'POST', url: `/environments/${ids.environmentId}/lock`, token: f.token, json: {} });
    const locked = await deploy({ ...ids, serverId });
    expect(locked.statusCode).toBe(409);
    expect(locked.json().hint).toContain('/unlock');
  });
});
