/**
 * The webhook hears of each transition people care about, and never holds a deploy up: deploys on the time-skipping
 * server with fake pipeline activities but the real delivery activity, posting to a real HTTP receiver.
 */
import { createHmac } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { notifyActivities } from '../../src/activities/notify.js';
import { ErrorType } from '../../src/shared/errors.js';
import type { DeployActivities } from '../../src/shared/activities.js';
import { approveSignal, cancelSignal } from '../../src/workflows/messages.js';
import { freePort } from '../support/process.js';
import { timeSkippingEnv, workflowBundle } from '../support/temporal.js';
import { startReceiver, type Receiver } from '../support/webhook.js';
import { NEW, PREVIOUS, fakeActivities, input, nonRetryable, policy, snapshot } from './fakes.js';
import { startDeploy, statusIs, waitForProgress, withWorker } from './harness.js';

const UI = 'https://temporal.example.com';
const SECRET = 'whsec-0123456789abcdef0123456789abcdef';

let env: TestWorkflowEnvironment;
let receiver: Receiver;

beforeAll(async () => {
  env = await timeSkippingEnv();
  await workflowBundle();
});
afterAll(async () => {
  await env?.teardown();
});
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver?.stop();
});

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
      return { handle, result, history: JSON.stringify(await handle.fetchHistory()) };
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

  test('with the receiver down (connection refused) the deploy succeeds all the same, after a few bounded tries', async () => {
    const down = `http://127.0.0.1:${await freePort()}/services/${receiver.pathSecret}`;
    const acts = activities(down);
    const { result, history } = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      const result = await handle.result();
      return { result, history: JSON.stringify(await handle.fetchHistory()) };
    });

    expect(result.status).toBe('succeeded');
    expect(result.error).toBeUndefined();
    // The retry policy's three attempts, then the deploy let it go.
    expect(acts.count('notify')).toBe(3);
    expect(history).toContain('ECONNREFUSED');
    expect(history).not.toContain(receiver.pathSecret);
  });

  test('a delivery the receiver first answers 503 is retried and arrives, with the same delivery id', async () => {
    receiver.answers.push(503);
    const acts = activities(receiver.url);
    const result = await withWorker(env, acts, async (tq) => (await startDeploy(env, tq, input())).result());

    expect(result.status).toBe('succeeded');
    expect(receiver.received.map((r) => r.event.event)).toEqual(['succeeded', 'succeeded']);
    expect(receiver.received[1]?.headers['x-deploy-delivery']).toBe(receiver.received[0]?.headers['x-deploy-delivery']);
  });

  test('a rollout that fails is told as rolled_back, with ECS reasons and the revision restored', async () => {
    const acts = activities(receiver.url, {
      checkRollout: async ({ taskDefinitionArn }) =>
        taskDefinitionArn === NEW ? snapshot('failed', 0) : snapshot('completed'),
    });
    const result = await withWorker(env, acts, async (tq) => (await startDeploy(env, tq, input())).result());

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
      return await handle.result();
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
    const err = await withWorker(env, acts, async (tq) =>
      (await startDeploy(env, tq, input())).result().catch((e: unknown) => e),
    );

    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(receiver.received.map((r) => r.event.event)).toEqual(['rollback_failed']);
    const event = receiver.received[0]?.event;
    expect(event?.text).toContain('ROLLBACK FAILED: the service needs a person now');
    expect(event?.result?.error?.message).toContain('AccessDenied on UpdateService');
  });
});
