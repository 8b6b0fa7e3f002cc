/** Approve, cancel, supersede and the progress query, on the time-skipping server with fake activities. */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeployActivities } from '../../src/shared/activities.js';
import type { DeployInput } from '../../src/shared/types.js';
import { approveSignal, approveUpdate, cancelSignal } from '../../src/workflows/messages.js';
import { NEW, PREVIOUS, SHA, fakeActivities, fakeToken, input, snapshot, watchWith } from './fakes.js';
import { startDeploy, statusIs, waitForProgress, withWorker, serverPerTest } from './harness.js';

let env: TestWorkflowEnvironment;

// A server of its own per test: a deploy's last notice ends after the deploy, and the time-skipping server then holds
// its clock for good (temporalio/sdk-typescript#1101, abandoned children).
serverPerTest((e) => (env = e));

const withApproval = (options: DeployInput['options'] = {}): DeployInput =>
  input({ options: { pollIntervalMs: 1000, stableTimeoutMs: 60_000, requireApproval: true, ...options } });

/** A rollout of the new revision that never settles; the previous revision is stable at once. */
const hangingRollout: Partial<DeployActivities> = {
  checkRollout: async ({ taskDefinitionArn }) =>
    taskDefinitionArn === NEW ? snapshot('in_progress', 1) : snapshot('completed'),
};

/**
 * Fakes for a rollout that never settles, cancelled or superseded mid-wait. Their watch returns only every 5 s unless
 * there is news: the Java time-skipping server loses the workflow task whose cancel crosses a watch's completion
 * (ACTIVITY_UNKNOWN, never redelivered), which the default 200 ms watch made likely on a loaded machine. Real servers
 * take that race; this server does not.
 */
function hangingActivities(extra: Partial<DeployActivities> = {}) {
  const acts = fakeActivities({ ...extra, ...hangingRollout });
  acts.watchRollout = watchWith((i) => acts.checkRollout(i), 5_000);
  return acts;
}

const updatedTo = (acts: ReturnType<typeof fakeActivities>): string[] =>
  acts.calls
    .filter((c) => c.name === 'updateService')
    .map((c) => (c.input as { taskDefinitionArn: string }).taskDefinitionArn);

describe('approval', () => {
  test('while awaiting approval, progress shows the stage, the pending approval, the image and the diff', async () => {
    const acts = fakeActivities();
    await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, withApproval());
      const p = await waitForProgress(handle, statusIs('awaiting_approval'));
      expect(p.stage).toBe('approval');
      expect(p.approval).toMatchObject({
        required: true,
        requiredBy: 'request',
        mode: 'verified',
        point: 'before_update',
        state: 'pending',
        diff: ['containers[web].image: old -> new'],
      });
      expect(p.imageRef).toBe(`127.0.0.1:5000/web:${SHA}`);
      expect(p.taskDefinitionArn).toBe(NEW);
      expect(p.previousTaskDefinitionArn).toBe(PREVIOUS);
      expect(acts.count('updateService')).toBe(0);
      await handle.signal(cancelSignal, { by: 'test', reason: 'done looking' });
      await handle.result();
    });
  });

  test('an approve signal with a token lets the deploy go on to succeed, recording who approved and when', async () => {
    const acts = fakeActivities();
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, withApproval());
      await waitForProgress(handle, statusIs('awaiting_approval'));
      await handle.signal(approveSignal, { token: fakeToken('alice'), comment: 'looks good' });
      return await handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect(result.approval).toMatchObject({
      required: true,
      state: 'approved',
      by: 'alice',
      proof: 'verified',
      comment: 'looks good',
    });
    expect(JSON.stringify(result)).not.toContain(fakeToken('alice'));
    expect(result.approval?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(updatedTo(acts)).toEqual([NEW]);
  });

  test('without an approval within the default hour, the deploy ends cancelled with its approval rejected', async () => {
    const acts = fakeActivities();
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, withApproval());
      return await handle.result();
    });
    expect(result.status).toBe('cancelled');
    expect(result.approval).toMatchObject({ state: 'rejected', comment: 'no approval within 1 h' });
    expect(result.endedBy).toMatchObject({ by: 'approval timeout', reason: 'no approval within 1 h' });
    expect(result.stages.find((s) => s.name === 'approval')?.status).toBe('cancelled');
    expect(acts.count('updateService')).toBe(0);
    expect(acts.calls.filter((c) => c.name === 'deregisterTaskDefinition').map((c) => c.input)).toEqual([
      { region: 'us-east-1', taskDefinitionArn: NEW },
    ]);
  });

  test('the approve update refuses an approver outside the allow-list, naming who may approve', async () => {
    const acts = fakeActivities();
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, withApproval({ approvers: ['alice', 'bob'] }));
      await waitForProgress(handle, statusIs('awaiting_approval'));
      const refused = await handle
        .executeUpdate(approveUpdate, { args: [{ token: fakeToken('mallory') }] })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(
        /^approver "mallory" is not allowed to approve wf-.*; allowed: alice, bob$/,
      );
      expect((await waitForProgress(handle, statusIs('awaiting_approval'))).approval.state).toBe('pending');
      const accepted = await handle.executeUpdate(approveUpdate, { args: [{ token: fakeToken('bob') }] });
      expect(accepted).toMatchObject({ state: 'approved', by: 'bob', proof: 'verified' });
      return await handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect(result.approval?.by).toBe('bob');
  });

  test('the approve update refuses a deploy that is not waiting for approval yet', async () => {
    let release = (): void => undefined;
    const building = new Promise<void>((r) => (release = r));
    const acts = fakeActivities({
      buildApp: async () => {
        await building;
        return { binaryPath: '/b', binarySha256: 'f'.repeat(64) };
      },
    });
    await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, withApproval());
      try {
        await waitForProgress(handle, statusIs('building'));
        const refused = await handle
          .executeUpdate(approveUpdate, { args: [{ token: fakeToken('alice') }] })
          .catch((e: unknown) => e);
        expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(
          /is not waiting for approval yet \(status building\); an approval counts only once the deploy waits for it, with the diff known$/,
        );
      } finally {
        release();
      }
      // Cancelling only once the build is done: the Java test server trips over cancelling a just-finished activity.
      await waitForProgress(handle, statusIs('awaiting_approval'));
      await handle.signal(cancelSignal, { by: 'test', reason: 'cleanup' });
      await handle.result();
    });
  });

  test('the approve update refuses a deploy that has finished', async () => {
    const acts = fakeActivities();
    await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, withApproval());
      await waitForProgress(handle, statusIs('awaiting_approval'));
      await handle.signal(cancelSignal, { by: 'carol', reason: 'not today' });
      expect((await handle.result()).status).toBe('cancelled');
      const refused = await handle
        .executeUpdate(approveUpdate, { args: [{ token: fakeToken('alice') }] })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toMatch(/completed|not found/i);
    });
  });
});

describe('cancel', () => {
  test('a cancel before the update ends cancelled, never touches the service and deregisters the new revision', async () => {
    const acts = fakeActivities();
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, withApproval());
      await waitForProgress(handle, statusIs('awaiting_approval'));
      await handle.signal(cancelSignal, { by: 'carol', reason: 'wrong branch' });
      return await handle.result();
    });
    expect(result.status).toBe('cancelled');
    expect(result.endedBy).toMatchObject({ by: 'carol', reason: 'wrong branch' });
    expect(result.approval).toMatchObject({ state: 'rejected', by: 'carol', comment: 'wrong branch' });
    expect(result.rollback).toBeUndefined();
    expect(acts.count('updateService')).toBe(0);
    expect(acts.calls.filter((c) => c.name === 'deregisterTaskDefinition').map((c) => c.input)).toEqual([
      { region: 'us-east-1', taskDefinitionArn: NEW },
    ]);
    expect(acts.count('cleanupWorkspace')).toBe(1);
  });

  test.each([
    ['the cancel signal', 'dave', 'rollout looks wrong'],
    ["Temporal's own cancellation", 'temporal', 'workflow cancellation requested'],
  ])(
    '%s during wait_stable puts the previous revision back, waits until it is stable, and ends cancelled',
    async (how, by, reason) => {
      const acts = hangingActivities();
      const result = await withWorker(env, acts, async (tq) => {
        const handle = await startDeploy(env, tq, input());
        await waitForProgress(handle, (p) => p.status === 'waiting_stable' && p.rollout !== undefined);
        if (how === 'the cancel signal') await handle.signal(cancelSignal, { by, reason });
        else await handle.cancel();
        return await handle.result();
      });
      expect(result.status).toBe('cancelled');
      expect(result.endedBy).toMatchObject({ by, reason });
      expect(result.rollback).toMatchObject({ restoredTaskDefinitionArn: PREVIOUS });
      expect(result.stages.map((s) => `${s.name}:${s.status}`).slice(-2)).toEqual([
        'wait_stable:cancelled',
        'rollback:succeeded',
      ]);
      expect(updatedTo(acts)).toEqual([NEW, PREVIOUS]);
      // The rollback waited for the previous revision to be stable: a read of it came after the update back.
      const back = acts.calls.findIndex(
        (c) => c.name === 'updateService' && (c.input as { taskDefinitionArn: string }).taskDefinitionArn === PREVIOUS,
      );
      expect(
        acts.calls
          .slice(back)
          .some(
            (c) =>
              c.name === 'checkRollout' && (c.input as { taskDefinitionArn: string }).taskDefinitionArn === PREVIOUS,
          ),
      ).toBe(true);
      expect(acts.calls.filter((c) => c.name === 'deregisterTaskDefinition').map((c) => c.input)).toEqual([
        { region: 'us-east-1', taskDefinitionArn: NEW },
      ]);
    },
  );
});

describe('supersede', () => {
  const NEWER_SHA = 'b'.repeat(40);
  const NEWER = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:3';
  const perSha: Partial<DeployActivities> = {
    registerTaskDefinition: async ({ sha }) => ({
      taskDefinitionArn: sha === SHA ? NEW : NEWER,
      created: true,
      diff: [`containers[web].image: old -> ${sha.slice(0, 7)}`],
    }),
  };

  test('a newer SHA supersedes a deploy awaiting approval: the older ends superseded without touching the service', async () => {
    const acts = fakeActivities(perSha);
    const [older, newer] = await withWorker(env, acts, async (tq) => {
      const a = await startDeploy(env, tq, withApproval());
      await waitForProgress(a, statusIs('awaiting_approval'));
      const b = await startDeploy(env, tq, input({ sha: NEWER_SHA, supersedes: [a.workflowId] }));
      // Awaiting a result lets time skip, which would time the approval out first: watch by query instead.
      await waitForProgress(a, (p) => p.result !== undefined);
      await waitForProgress(b, (p) => p.result !== undefined);
      return await Promise.all([a.result(), b.result()]);
    });
    expect(older.status).toBe('superseded');
    expect(older.endedBy?.by).toMatch(/^wf-/);
    expect(older.endedBy?.reason).toBe('superseded by bbbbbbbbbbbb');
    expect(older.approval?.state).toBe('rejected');
    expect(newer.status).toBe('succeeded');
    expect(updatedTo(acts)).toEqual([NEWER]);
    expect(acts.calls.filter((c) => c.name === 'deregisterTaskDefinition').map((c) => c.input)).toEqual([
      { region: 'us-east-1', taskDefinitionArn: NEW },
    ]);
  });

  test('a superseded deploy mid-rollout compensates first; the newer one updates only after that', async () => {
    const acts = hangingActivities(perSha);
    const [older, newer] = await withWorker(env, acts, async (tq) => {
      const a = await startDeploy(env, tq, input());
      await waitForProgress(a, (p) => p.status === 'waiting_stable' && p.rollout !== undefined);
      const b = await startDeploy(env, tq, input({ sha: NEWER_SHA, supersedes: [a.workflowId] }));
      return await Promise.all([a.result(), b.result()]);
    });
    expect(older.status).toBe('superseded');
    expect(older.rollback?.restoredTaskDefinitionArn).toBe(PREVIOUS);
    expect(newer.status).toBe('succeeded');
    expect(newer.previousTaskDefinitionArn).toBe(PREVIOUS);
    // One rollout at a time: the rollback is stable before the newer revision is sent.
    const order = acts.calls
      .filter((c) => c.name === 'updateService' || c.name === 'checkRollout')
      .map((c) => `${c.name}:${(c.input as { taskDefinitionArn: string }).taskDefinitionArn.split('/').pop()}`);
    const newerUpdate = order.indexOf('updateService:web:3');
    expect(order.slice(0, newerUpdate).filter((c) => c.startsWith('updateService'))).toEqual([
      'updateService:web:2',
      'updateService:web:1',
    ]);
    const rollbackUpdate = order.indexOf('updateService:web:1');
    expect(order.slice(rollbackUpdate, newerUpdate)).toContain('checkRollout:web:1');
  });
});

describe('what the Temporal UI shows', () => {
  test('every activity is scheduled with a summary that says in words what it does', async () => {
    const acts = fakeActivities();
    const history = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, input());
      await handle.result();
      return await handle.fetchHistory();
    });
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => {
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
        const payload = e.userMetadata?.summary;
        return `${type}: ${payload ? defaultPayloadConverter.fromPayload<string>(payload) : '(none)'}`;
      });
    expect(summaries).toEqual(
      expect.arrayContaining([
        'describeTarget: read prod/web from ECS',
        'checkout: check out aaaaaaa',
        'buildApp: build the Go binary at aaaaaaa',
        'testApp: go test the binary at aaaaaaa',
        'packageImage: build and push image web:aaaaaaa',
        'registerTaskDefinition: register a task definition for aaaaaaa',
        'updateService: update prod/web to web:2',
        'watchRollout: follow the rollout of web:2',
      ]),
    );
    expect(summaries.filter((s) => s.endsWith('(none)'))).toEqual([]);
  });
});
