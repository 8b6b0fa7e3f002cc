/**
 * The webhook hears of each transition people care about, and never holds a deploy up: deploys on the time-skipping
 * server with fake pipeline activities but the real delivery activity, posting to a real HTTP receiver.
 */
import { createHmac } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { notifyActivities } from '../../src/activities/notify.js';
import { ErrorType } from '../../src/shared/errors.js';
import type { DeployActivities } from '../../src/shared/activities.js';
import { approveSignal, cancelSignal } from '../../src/workflows/messages.js';
import { freePort } from '../../src/devstack/process.js';
import { startReceiver, type Receiver } from '../support/webhook.js';
import { NEW, PREVIOUS, fakeActivities, input, nonRetryable, policy, snapshot } from './fakes.js';
import { startDeploy, statusIs, waitForProgress, withWorker, serverPerTest } from './harness.js';

const UI = 'https://temporal.example.com';
const SECRET = 'whsec-0123456789abcdef0123456789abcdef';

let env: TestWorkflowEnvironment;
let receiver: Receiver;

// A server of its own per test: a deploy's last notice ends after the deploy, and the time-skipping server then holds
// its clock for good (temporalio/sdk-typescript#1101, abandoned children).
serverPerTest((e) => (env = e));
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver?.stop();
});

/** The notifyWebhook runs a deploy started, in order. */
async function noticeIds(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
    return a?.workflowType?.name === 'notifyWebhook' && a.workflowId ? [a.workflowId] : [];
  });
}

/**
 * The deploy's notices, each followed to its end (delivered, or failed after its tries): the last one may still be
 * under way when the deploy returns, by design. Polled, not awaited: awaiting a result lets the test server skip
 * time while a delivery is in flight, which would time the attempt out and send it twice.
 */
async function notices(handle: WorkflowHandle): Promise<{ workflowId: string; delivered: boolean; history: string }[]> {
  const out = [];
  for (const workflowId of await noticeIds(handle)) {
    const child = env.client.workflow.getHandle(workflowId);
    const deadline = Date.now() + 30_000;
    let status = (await child.describe()).status.name;
    while (status === 'RUNNING' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await child.describe()).status.name;
    }
    out.push({ workflowId, delivered: status === 'COMPLETED', history: JSON.stringify(await child.fetchHistory()) });
  }
  return out;
}

/** The pipeline's fakes, with the real delivery to `url`. */
function activities(url: string, overrides: Partial<DeployActivities> = {}) {
  const { notify } = notifyActivities({ notify: { url, secret: SECRET }, uiUrl: UI });
  return fakeActivities({ ...overrides, notify });
}

const byName: Partial<DeployActivities> = {
  approvalPolicy: async () =>
    policy({ source: 'service', requireApproval: true, identity: 'namespace', approvers: ['bob'] }),
};

describe('notifications of a deploy', () => {
  test('a deploy that waits for approval sends awaiting_approval while it waits, then succeeded: one signed event each', async () => {
    const acts = activities(receiver.url, byName);
    const { handle, result, history } = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      await waitForProgress(handle, statusIs('awaiting_approval'));
      // Sent at the transition: the receiver has it while the deploy still waits.
      const [waiting] = await receiver.waitFor(1);
      expect(waiting?.event.event).toBe('awaiting_approval');
      await handle.signal(approveSignal, { by: 'bob', comment: 'ok' });
      const result = await handle.result();
      const sent = await notices(handle);
      const history = [JSON.stringify(await handle.fetchHistory()), ...sent.map((n) => n.history)].join('\n');
      expect(sent.map((n) => n.delivered)).toEqual([true, true]);
      return { handle, result, history };
    });

    expect(result.status).toBe('succeeded');
    expect(receiver.received.map((r) => r.event.event)).toEqual(['awaiting_approval', 'succeeded']);
    const [waiting, done] = receiver.received;
    const page = `${UI}/namespaces/default/workflows/${handle.workflowId}/${result.runId}/history`;
    expect(waiting?.event).toMatchObject({
      uiUrl: page,
      approveCommand: `deployctl approve ${handle.workflowId}`,
      deploy: { kind: 'deploy', sha: input().sha, cluster: 'prod', service: 'web', workflowId: handle.workflowId },
      approval: { point: 'before_update', approvers: ['bob'], changes: ['containers[web].image'] },
    });
    expect(waiting?.event.text).toContain(
      'prod/web: deploy of aaaaaaaaaaaa awaits approval before the service is updated',
    );
    expect(waiting?.event.text).toContain(`Approve: deployctl approve ${handle.workflowId}`);
    expect(waiting?.event.text).toContain(page);
    expect(done?.event).toMatchObject({ uiUrl: page, result: { taskDefinitionArn: NEW } });
    expect(done?.event.approveCommand).toBeUndefined();
    expect(done?.event.text).toContain('prod/web: deploy of aaaaaaaaaaaa succeeded: web:2 is live');
    for (const r of receiver.received) {
      const timestamp = String(r.headers['x-deploy-timestamp']);
      const expected = createHmac('sha256', SECRET).update(`${timestamp}.${r.body}`).digest('hex');
      expect(r.headers['x-deploy-signature']).toBe(`sha256=${expected}`);
      expect(r.headers['x-deploy-delivery']).toBe(r.event.id);
    }
    // What the workflow recorded names neither the secret nor the URL's secret path.
    expect(history).not.toContain(SECRET);
    expect(history).not.toContain(receiver.pathSecret);
  });

  test('with the receiver down (connection refused) the deploy succeeds while its notice keeps retrying', async () => {
    const down = `http://127.0.0.1:${await freePort()}/services/${receiver.pathSecret}`;
    const acts = activities(down);
    const { result, lastFailure, history } = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      const result = await handle.result();
      const [id] = await noticeIds(handle);
      const child = env.client.workflow.getHandle(id ?? 'none');
      // The first try has failed and the next is scheduled: the deploy has long returned.
      let pending = (await child.describe()).raw.pendingActivities?.[0];
      for (let i = 0; i < 100 && !pending?.lastFailure; i++) {
        await new Promise((r) => setTimeout(r, 100));
        pending = (await child.describe()).raw.pendingActivities?.[0];
      }
      const history = JSON.stringify(await child.fetchHistory());
      await child.terminate('test over');
      return { result, lastFailure: pending?.lastFailure?.message ?? '', history };
    });

    expect(result.status).toBe('succeeded');
    expect(result.error).toBeUndefined();
    expect(acts.count('notify')).toBeGreaterThanOrEqual(1);
    expect(lastFailure).toContain('ECONNREFUSED');
    expect(lastFailure).toContain('check that the receiver is up');
    expect(lastFailure).not.toContain(receiver.pathSecret);
    expect(history).not.toContain(receiver.pathSecret);
  });

  test('with a receiver that never answers, the deploy returns its result before the notice has ended', async () => {
    receiver.answers.push('hang', 'hang', 'hang', 'hang', 'hang');
    const acts = activities(receiver.url);
    const { result, parentClosed, child } = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      const result = await handle.result();
      const parentClosed = (await handle.describe()).closeTime;
      const [notice] =
        (await handle.fetchHistory()).events?.flatMap((e) =>
          e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId
            ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId]
            : [],
        ) ?? [];
      const childHandle = env.client.workflow.getHandle(notice ?? 'none');
      const child = await childHandle.describe();
      await childHandle.terminate('test over').catch(() => undefined);
      return { result, parentClosed, child };
    });

    expect(result.status).toBe('succeeded');
    expect(receiver.received.every((r) => r.event.event === 'succeeded')).toBe(true);
    // The notice was still running, or ended after the deploy had: the result never waited for the webhook.
    if (child.closeTime) expect(child.closeTime.getTime()).toBeGreaterThanOrEqual(parentClosed?.getTime() ?? Infinity);
    else expect(child.status.name).toBe('RUNNING');
  });

  test('a delivery the receiver first answers 503 is retried and arrives, with the same delivery id', async () => {
    receiver.answers.push(503);
    const acts = activities(receiver.url);
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      const result = await handle.result();
      await notices(handle);
      return result;
    });

    expect(result.status).toBe('succeeded');
    expect(receiver.received.map((r) => r.event.event)).toEqual(['succeeded', 'succeeded']);
    expect(receiver.received[1]?.headers['x-deploy-delivery']).toBe(receiver.received[0]?.headers['x-deploy-delivery']);
  });

  test('a rollout that fails is told as rolled_back, with ECS reasons and the revision restored', async () => {
    const acts = activities(receiver.url, {
      checkRollout: async ({ taskDefinitionArn }) =>
        taskDefinitionArn === NEW ? snapshot('failed', 0) : snapshot('completed'),
    });
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      const result = await handle.result();
      await notices(handle);
      return result;
    });

    expect(result.status).toBe('rolled_back');
    expect(receiver.received.map((r) => r.event.event)).toEqual(['rolled_back']);
    const event = receiver.received[0]?.event;
    expect(event?.text).toContain('prod/web: deploy of aaaaaaaaaaaa was rolled back to web:1');
    expect(event?.result?.rollback?.restoredTaskDefinitionArn).toBe(PREVIOUS);
    expect(event?.text).toContain('Why: wait_stable:');
  });

  test('a deploy cancelled while it waits for approval is told as cancelled, by whom and why', async () => {
    const acts = activities(receiver.url, byName);
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      await waitForProgress(handle, statusIs('awaiting_approval'));
      await handle.signal(cancelSignal, { by: 'carol', reason: 'not today' });
      const result = await handle.result();
      await notices(handle);
      return result;
    });

    expect(result.status).toBe('cancelled');
    expect(receiver.received.map((r) => r.event.event)).toEqual(['awaiting_approval', 'cancelled']);
    expect(receiver.received[1]?.event.text).toContain('was cancelled by carol');
    expect(receiver.received[1]?.event.text).toContain('Why: not today');
  });

  test('a rollback that fails is told as rollback_failed before the run fails', async () => {
    const acts = activities(receiver.url, {
      checkRollout: async () => snapshot('failed', 0),
      updateService: async ({ taskDefinitionArn }) => {
        if (taskDefinitionArn === PREVIOUS) throw nonRetryable('AccessDenied on UpdateService', ErrorType.accessDenied);
        return { previousTaskDefinitionArn: PREVIOUS, deploymentId: 'ecs-svc/2', changed: true };
      },
    });
    const err = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      const err = await handle.result().catch((e: unknown) => e);
      await notices(handle);
      return err;
    });

    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(receiver.received.map((r) => r.event.event)).toEqual(['rollback_failed']);
    const event = receiver.received[0]?.event;
    expect(event?.text).toContain('ROLLBACK FAILED: the service needs a person now');
    expect(event?.result?.error?.message).toContain('AccessDenied on UpdateService');
  });
});
