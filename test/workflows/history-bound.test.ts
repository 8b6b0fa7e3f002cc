/**
 * No deploy can outgrow Temporal's history: the longest allowed waits, on a time-skipping server of their own (a
 * server other tests used may hold its clock while activities they abandoned time out).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LIMITS } from '../../src/shared/validate.js';
import { deploy } from '../../src/workflows/deploy.js';
import { MAX_CHECKPOINTS } from '../../src/workflows/wait-stable.js';
import { workflowBundle } from '../support/temporal.js';
import { NEW, fakeActivities, input, policy, snapshot } from './fakes.js';
import { settleNotices, serverPerTest } from './harness.js';
import { createDeployWorkers } from '../../src/workers.js';

let env: TestWorkflowEnvironment;

// A server of its own per test: a deploy's last notice ends after the deploy, and the time-skipping server then holds
// its clock for good (temporalio/sdk-typescript#1101, abandoned children).
serverPerTest((e) => (env = e));

async function runAndCount(acts: ReturnType<typeof fakeActivities>, args: Parameters<typeof deploy>[0]) {
  const taskQueue = `bound-${Date.now()}`;
  const workers = await createDeployWorkers({
    connection: env.nativeConnection,
    taskQueue,
    workflows: { workflowBundle: await workflowBundle() },
    activities: acts,
  });
  return await workers.runUntil(
    (async () => {
      const handle = await env.client.workflow.start(deploy, { taskQueue, workflowId: taskQueue, args: [args] });
      const result = await handle.result();
      await settleNotices(env);
      return { result, events: (await handle.fetchHistory()).events?.length ?? 0 };
    })(),
  );
}

describe('the history of the longest deploy', () => {
  test('a rollout that hangs for the longest allowed stable timeout: one watch per stretch at most, then a rollback', async () => {
    const acts = fakeActivities({
      checkRollout: async ({ taskDefinitionArn }) =>
        taskDefinitionArn === NEW ? snapshot('in_progress', 1) : snapshot('completed'),
    });
    const longest = input({
      options: { stableTimeoutMs: LIMITS.stableTimeoutMs.max, pollIntervalMs: LIMITS.pollIntervalMs.min },
    });
    const { result, events } = await runAndCount(acts, longest);
    expect(result.status).toBe('rolled_back');
    expect(result.error?.message).toContain('did not become stable within 86400 s');
    const watches = acts.calls.filter((c) => c.name === 'watchRollout').length;
    expect(watches).toBeLessThanOrEqual(MAX_CHECKPOINTS + 2);
    // Temporal terminates a run at 51,200 events; a day-long wait stays two orders of magnitude below.
    expect(events).toBeLessThan(600);
  }, 300_000);

  test('an approval that never comes within the longest allowed approval timeout ends the deploy in a handful of events', async () => {
    // The worker's policy sets the wait (a request may only shorten it): the longest the policy may set.
    const acts = fakeActivities({
      approvalPolicy: async () => policy({ approvalTimeoutMs: LIMITS.approvalTimeoutMs.max }),
    });
    const longest = input({
      options: { requireApproval: true, approvalTimeoutMs: LIMITS.approvalTimeoutMs.max, stableTimeoutMs: 60_000 },
    });
    const { result, events } = await runAndCount(acts, longest);
    expect(result.status).toBe('cancelled');
    expect(result.approval?.comment).toBe('no approval within 168 h');
    expect(events).toBeLessThan(150);
  });
});
