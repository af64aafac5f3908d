import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKind } from '../../../shared/command-catalogue.js';
import type { Command } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import { sampleResultOf, sampleResults } from '../../../test/helpers/command-samples.js';
import { type DeployFixture, startDeployFixture } from '../../../test/helpers/deploy-fixture.js';
import type { FakeCommandOutcome } from '../../../test/helpers/fake-agent.js';

/** An agent whose deployments end when the test says. */
interface ScriptedAgent {
  execute(command: Command): Promise<FakeCommandOutcome>;
  /** Ends the oldest deployment waiting for an answer (waiting up to 5 s for one to arrive). */
  finish(outcome: FakeCommandOutcome): Promise<void>;
  /** Fails every deployment still waiting, so the fixture can close. */
  releaseAll(): void;
}

let f: DeployFixture;
const scripted: ScriptedAgent[] = [];

beforeAll(async () => {
  f = await startDeployFixture();
});
afterAll(async () => {
  for (const agent of scripted) agent.releaseAll();
  await f?.close();
});

const succeeded: FakeCommandOutcome = {
  succeeded: true,
  result: { ...sampleResults[commandKind.deploymentApply], containerName: 'c', accessUrl: 'http://127.0.0.1:20001' },
};
const failed: FakeCommandOutcome = { succeeded: false, errorCode: 'unhealthy', errorMessage: 'GET / answered 500' };

/** Each `deployment.apply` waits for the next `finish`; other commands succeed at once. */
function scriptedAgent(): ScriptedAgent {
  const waiting: ((outcome: FakeCommandOutcome) => void)[] = [];
  const agent: ScriptedAgent = {
    execute: async (command: Command): Promise<FakeCommandOutcome> =>
      command.kind === commandKind.deploymentApply
        ? new Promise((resolve) => waiting.push(resolve))
        : { succeeded: true, result: sampleResultOf(command.kind) },
    async finish(outcome: FakeCommandOutcome) {
      for (let i = 0; i < 100 && waiting.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      waiting.shift()!(outcome);
    },
    releaseAll: () => {
      for (const resolve of waiting.splice(0)) resolve(failed);
    },
  };
  scripted.push(agent);
  return agent;
}

const get = (url: string) => f.t.request({ method: 'GET', url, token: f.token });
const post = (url: string, json: unknown = {}) => f.t.request({ method: 'POST', url, token: f.token, json });
const readiness = async (id: string, query = '') => {
  const res = await get(`/deployments/${id}/recovery-readiness${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

async function waitForStatus(id: string, status: string) {
  for (let i = 0; i < 100; i++) {
    const shown = (await get(`/deployments/${id}`)).json();
    if (shown.deployment.status === status) return shown;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`deployment ${id} never reached ${status}`);
}

/** A resource on a server whose scripted agent ends each deployment when told. */
async function setUp() {
  const agent = scriptedAgent();
  const { serverId } = await f.connectServer(agent.execute);
  const ids = { ...(await f.createResource()), serverId };
  /** Deploys and ends the deployment with `outcome` (or leaves it under way). */
  const deploy = async (outcome?: FakeCommandOutcome) => {
    const created = await post('/deployments', ids);
    expect(created.statusCode, created.body).toBe(201);
    const id: string = created.json().id;
    if (outcome) {
      await agent.finish(outcome);
      await waitForStatus(id, outcome.succeeded ? 'succeeded' : 'failed');
    }
    return id;
  };
  return { agent, ids, deploy };
}

const codes = (reasons: { code: string }[]) => reasons.map((r) => r.code);

describe('GET /deployments/{id}/recovery-readiness', () => {
  it('is not recoverable while the deployment is under way, and is retryable and redeployable once it failed', async () => {
    const { agent, deploy } = await setUp();
    const id = await deploy();
    const during = await readiness(id);
    expect(during).toMatchObject({
      schemaVersion: 'deployments.recovery-readiness/v1',
      deploymentId: id,
      recoverable: false,
      retryable: false,
      redeployable: false,
      rollbackReady: false,
      retry: {
        allowed: false,
        commandActive: false,
        targetOperation: 'deployments.retry',
        reasons: [{ code: 'attempt-not-terminal', category: 'blocked', relatedDeploymentId: id, retriable: true }],
      },
      redeploy: { allowed: false, reasons: [{ code: 'attempt-not-terminal' }] },
      rollback: { allowed: false, candidates: [] },
    });
    expect(codes(during.rollback.reasons)).toEqual(['attempt-not-terminal', 'rollback-candidate-missing']);
    expect(during.recommendedActions[0]).toMatchObject({ targetOperation: 'deployments.stream-events' });
    expect(during.recommendedActions).toContainEqual(
      expect.objectContaining({ targetOperation: 'deployments.retry', blockedReasonCode: 'attempt-not-terminal' }),
    );

    await agent.finish(failed);
    await waitForStatus(id, 'failed');
    const after = await readiness(id);
    expect(after).toMatchObject({
      recoverable: true,
      retryable: true,
      redeployable: true,
      rollbackReady: false,
      rollbackCandidateCount: 0,
      retry: { allowed: true, reasons: [{ code: 'attempt-failed', category: 'allowed' }] },
      redeploy: { allowed: true, targetOperation: 'resources.redeploy' },
      rollback: { allowed: false, reasons: [{ code: 'rollback-candidate-missing' }], recommendedCandidateId: null },
    });
    expect(after.stateVersion).not.toBe(during.stateVersion);
    // The show's summary is the same verdict.
    expect((await get(`/deployments/${id}`)).json().recoverySummary).toEqual({
      source: 'deployments.recovery-readiness',
      retryable: true,
      redeployable: true,
      rollbackReady: false,
      rollbackCandidateCount: 0,
      blockedReasonCodes: ['rollback-candidate-missing'],
    });

    // While the retry runs, the retry is the command under way and another one is refused.
    const retry = await post(`/deployments/${id}/retry`);
    expect(retry.statusCode, retry.body).toBe(201);
    const retrying = await readiness(id);
    expect(retrying.retry).toMatchObject({
      allowed: false,
      commandActive: true,
      reasons: [{ code: 'deployment-in-progress', relatedDeploymentId: retry.json().id }],
    });
    expect((await post(`/deployments/${id}/retry`)).json().message).toBe(retrying.retry.reasons[0].message);
    await agent.finish(succeeded);
    await waitForStatus(retry.json().id, 'succeeded');
  });

  it('lists the earlier successes of the resource as rollback candidates, newest first', async () => {
    const { deploy, ids } = await setUp();
    const first = await deploy(succeeded);
    const second = await deploy(succeeded);
    const third = await deploy(failed);
    const ready = await readiness(third);
    expect(ready).toMatchObject({
      rollbackReady: true,
      rollbackCandidateCount: 2,
      rollback: { allowed: true, recommendedCandidateId: second, reasons: [{ code: 'rollback-candidate-available' }] },
    });
    expect(ready.rollback.candidates.map((c: { id: string }) => c.id)).toEqual([second, first]);
    expect(ready.rollback.candidates[0]).toMatchObject({
      deploymentId: second,
      status: 'succeeded',
      image: 'berth-test/web:1',
      rollbackReady: true,
      createdAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    expect((await readiness(third, '?maxCandidates=1')).rollback.candidates).toHaveLength(1);
    expect((await readiness(third, '?includeCandidates=false')).rollback).toMatchObject({
      candidates: [],
      recommendedCandidateId: second,
    });
    // The oldest has nothing before it, and a success is redeployed, not retried.
    const oldest = await readiness(first);
    expect(codes(oldest.rollback.reasons)).toEqual(['rollback-candidate-missing']);
    expect(codes(oldest.retry.reasons)).toEqual(['attempt-succeeded']);
    expect(oldest.redeploy.allowed).toBe(true);

    const wrong = await get(`/deployments/${third}/recovery-readiness?resourceId=res-other`);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().field).toBe('resourceId');
    expect((await readiness(third, `?resourceId=${ids.resourceId}`)).deploymentId).toBe(third);
  });

  it('blocks retry and redeploy of a locked environment with the reason the deploying calls refuse with', async () => {
    const { deploy, ids } = await setUp();
    const id = await deploy(failed);
    await post(`/environments/${ids.environmentId}/lock`);
    const locked = await readiness(id);
    expect(locked).toMatchObject({ recoverable: false, retryable: false, redeployable: false });
    expect(codes(locked.retry.reasons)).toEqual(['environment-locked']);
    expect(codes(locked.redeploy.reasons)).toEqual(['environment-locked']);
    const refused = await post(`/deployments/${id}/retry`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      message: locked.retry.reasons[0].message,
      hint: locked.retry.reasons[0].recommendation,
    });
    expect((await get(`/deployments/${id}`)).json().recoverySummary.blockedReasonCodes).toContain('environment-locked');
  });
});

describe('POST /deployments/{id}/archive', () => {
  it('archives only a deployment that ended, answers its first archivedAt again, and lists leave it out', async () => {
    const { agent, deploy, ids } = await setUp();
    const id = await deploy();
    const mismatch = await post(`/deployments/${id}/archive`, { confirm: 'nope' });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json()).toMatchObject({ field: 'confirm', hint: `Send {"confirm": "${id}"} to confirm.` });
    const running = await post(`/deployments/${id}/archive`, { confirm: id });
    expect(running.statusCode).toBe(409);
    expect(running.json().details).toEqual({ status: 'planned' });
    expect(running.json().hint).toContain(`/deployments/${id}/cancel`);

    await agent.finish(succeeded);
    await waitForStatus(id, 'succeeded');
    const archived = await post(`/deployments/${id}/archive`, { confirm: id });
    expect(archived.statusCode, archived.body).toBe(200);
    const { archivedAt } = archived.json();
    expect(archived.json()).toEqual({ id, archivedAt: expect.any(String) });
    expect((await post(`/deployments/${id}/archive`, { confirm: id })).json()).toEqual({ id, archivedAt });

    const listed = (query: string) => get(`/deployments?resourceId=${ids.resourceId}${query}`);
    expect((await listed('')).json().items).toEqual([]);
    expect((await listed('&includeArchived=true')).json().items.map((d: { id: string }) => d.id)).toEqual([id]);
    expect((await get(`/deployments/count?resourceId=${ids.resourceId}`)).json()).toEqual({ count: 0 });
    expect((await get(`/deployments/count?resourceId=${ids.resourceId}&includeArchived=true`)).json()).toEqual({
      count: 1,
    });
    // Still readable, and no longer offered for archiving.
    expect((await get(`/deployments/${id}`)).json().deployment.archivedAt).toBe(archivedAt);
    const actions = (await readiness(id)).recommendedActions.map((a: { targetOperation: string }) => a.targetOperation);
    expect(actions).not.toContain('deployments.archive');

    const unknown = await post('/deployments/dep-nope/archive', { confirm: 'dep-nope' });
    expect(unknown.statusCode).toBe(404);
  });
});
