/**
 * Approval at an ECS PAUSE lifecycle hook, on the time-skipping server with fake activities that script a service
 * deployment: it pauses, the deploy waits for a person, and the answer goes to ECS (CONTINUE, or ROLLBACK through
 * settling); a hook that expires unanswered leaves the decision to ECS. The verifier is the fake one (fakes.ts).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeployInput } from '../../src/shared/types.js';
import { approveSignal, rejectSignal } from '../../src/workflows/messages.js';
import { fakeActivities, fakeToken, input } from './fakes.js';
import { SD, pausingService } from './fake-hooks.js';
import { startDeploy, waitForProgress, withWorker, serverPerTest } from './harness.js';
import { notifyActivities } from '../../src/activities/notify.js';
import { startReceiver } from '../support/webhook.js';

let env: TestWorkflowEnvironment;

// A server of its own per test: after a deploy that waited at a hook, the time-skipping server may hold its clock.
serverPerTest((e) => (env = e));

const options: DeployInput['options'] = { pollIntervalMs: 1000, stableTimeoutMs: 600_000 };
const atHook = (p: { status: string; approval: { point?: string; state: string } }) =>
  p.status === 'awaiting_approval' && p.approval.point === 'lifecycle_hook' && p.approval.state === 'pending';

describe('approval at a PAUSE lifecycle hook', () => {
  test('the deploy updates without a gate, waits at the hook showing its stage and expiry, and an approval continues it', async () => {
    const acts = fakeActivities(pausingService());
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input({ options }));
      const p = await waitForProgress(handle, atHook);
      expect(p.approval).toMatchObject({
        required: true,
        hook: { stage: 'POST_TEST_TRAFFIC_SHIFT', timeoutAction: 'ROLLBACK' },
      });
      expect(p.approval.hook?.expiresAt).toMatch(/^\d{4}-/);
      expect(acts.count('updateService')).toBe(1);
      await handle.signal(approveSignal, { token: fakeToken('bob'), comment: 'test traffic looks fine' });
      return await handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect(result.stages.find((s) => s.name === 'approval' && s.status === 'skipped')?.detail).toContain(
      'POST_TEST_TRAFFIC_SHIFT',
    );
    expect(result.approval).toMatchObject({ state: 'approved', by: 'bob', point: 'lifecycle_hook' });
    expect(acts.calls.filter((c) => c.name === 'continueRollout').map((c) => c.input)).toEqual([
      { region: 'us-east-1', serviceDeploymentArn: SD, hookId: 'hook-1' },
    ]);
    expect(acts.count('stopRollout')).toBe(0);
  });

  test('the webhook hears that the deploy waits at the hook, with its stage, expiry and approve command, then that it succeeded', async () => {
    const receiver = await startReceiver();
    try {
      const { notify } = notifyActivities({ notify: { url: receiver.url }, uiUrl: 'http://ui.test' });
      const acts = fakeActivities({ ...pausingService(), notify });
      const workflowId = await withWorker(env, acts, async (tq) => {
        const handle = await startDeploy(env, tq, input({ options }));
        await waitForProgress(handle, atHook);
        const [waiting] = await receiver.waitFor(1);
        expect(waiting?.event.approval).toMatchObject({
          point: 'lifecycle_hook',
          hookStage: 'POST_TEST_TRAFFIC_SHIFT',
          timeoutAction: 'ROLLBACK',
        });
        expect(waiting?.event.text).toMatch(
          /awaits approval at the ECS lifecycle hook POST_TEST_TRAFFIC_SHIFT; ECS applies ROLLBACK at \d{4}-/,
        );
        await handle.signal(approveSignal, { token: fakeToken('bob'), comment: 'fine' });
        expect((await handle.result()).status).toBe('succeeded');
        await receiver.waitFor(2);
        return handle.workflowId;
      });
      expect(receiver.received.map((r) => r.event.event)).toEqual(['awaiting_approval', 'succeeded']);
      expect(receiver.received[0]?.event.approveCommand).toBe(`deployctl approve ${workflowId}`);
    } finally {
      await receiver.stop();
    }
  });

  test('a rejection at the hook answers ROLLBACK there and the deploy ends rolled_back, at stage approval', async () => {
    const acts = fakeActivities(pausingService());
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input({ options }));
      await waitForProgress(handle, atHook);
      await handle.signal(rejectSignal, { token: fakeToken('bob'), comment: 'errors on the test listener' });
      return await handle.result();
    });
    expect(result.status).toBe('rolled_back');
    expect(result.error).toMatchObject({ stage: 'approval', type: 'ApprovalRejected' });
    expect(result.error?.message).toContain('rejected by bob (verified): errors on the test listener');
    expect(result.rollback?.method).toBe('hook');
    expect(acts.calls.filter((c) => c.name === 'stopRollout').map((c) => c.input)).toEqual([
      { region: 'us-east-1', serviceDeploymentArn: SD, hookId: 'hook-1' },
    ]);
    expect(acts.count('continueRollout')).toBe(0);
    expect(acts.calls.filter((c) => c.name === 'updateService')).toHaveLength(1);
  });

  test('a hook that expired unanswered is left to ECS: the deploy reports the rollback ECS made, and sends none', async () => {
    const acts = fakeActivities(pausingService({ expired: true }));
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input({ options }));
      return await handle.result();
    });
    expect(result.status).toBe('rolled_back');
    expect(result.error?.message).toContain('lifecycle hook hook-1 timed out');
    expect(result.rollback?.method).toBe('ecs');
    expect(acts.count('stopRollout') + acts.count('continueRollout')).toBe(0);
  });

  test('a rollout that pauses at every step is approved at every step, and the result keeps each decision', async () => {
    const acts = fakeActivities(pausingService({ pauses: 3 }));
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input({ options }));
      for (const [step, who] of ['alice', 'bob', 'carol'].entries()) {
        // The next pause opens at once: wait for the one with as many decisions behind it as steps approved.
        await waitForProgress(handle, (p) => atHook(p) && (p.approval.decisions?.length ?? 0) === step);
        await handle.signal(approveSignal, { token: fakeToken(who) });
      }
      return await handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect(
      acts.calls.filter((c) => c.name === 'continueRollout').map((c) => (c.input as { hookId: string }).hookId),
    ).toEqual(['hook-1', 'hook-2', 'hook-3']);
    expect(result.approval?.by).toBe('carol');
    expect(result.approval?.decisions?.map((d) => `${d.state} by ${d.by}`)).toEqual([
      'approved by alice',
      'approved by bob',
    ]);
  });
});
