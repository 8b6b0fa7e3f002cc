import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { workflowBundle } from '../support/temporal.js';
import type { DeployActivities } from '../../src/shared/activities.js';
import type { DeployInput, DeployResult } from '../../src/shared/types.js';
import { deploy } from '../../src/workflows/deploy.js';
import { ErrorType } from '../../src/shared/errors.js';
import { LIMITS } from '../../src/shared/validate.js';
import { DIGEST, NEW, PREVIOUS, SHA, fakeActivities, input, nonRetryable, snapshot } from './fakes.js';
import { settleNotices, serverPerTest } from './harness.js';
import { createDeployWorkers } from '../../src/workers.js';

let env: TestWorkflowEnvironment;
const slowTest: DeployActivities['testApp'] = async () => {
  await new Promise((r) => setTimeout(r, 500));
  return { passed: 2, packages: 1 };
};
const slowPackage: DeployActivities['packageImage'] = async ({ sha }) => {
  await new Promise((r) => setTimeout(r, 500));
  return { imageRef: `127.0.0.1:5000/web:${sha}`, imageDigest: DIGEST, pushed: true };
};
let n = 0;

// A server of its own per test: a deploy's last notice ends after the deploy, and the time-skipping server then holds
// its clock for good (temporalio/sdk-typescript#1101, abandoned children).
serverPerTest((e) => (env = e));

async function run(activities: DeployActivities, args: DeployInput = input()): Promise<DeployResult> {
  const taskQueue = `q-${++n}`;
  const workers = await createDeployWorkers({
    connection: env.nativeConnection,
    taskQueue,
    workflows: { workflowBundle: await workflowBundle() },
    activities,
  });
  return await workers.runUntil(
    env.client.workflow
      .execute(deploy, { taskQueue, workflowId: `wf-${n}`, args: [args] })
      .finally(() => settleNotices(env)),
  );
}

describe('the deploy workflow', () => {
  test('deploys through every stage and reports the new and previous revisions', async () => {
    const acts = fakeActivities();
    const result = await run(acts);
    expect(result.status).toBe('succeeded');
    expect(result.imageRef).toBe(`127.0.0.1:5000/web:${SHA}`);
    expect(result.taskDefinitionArn).toBe(NEW);
    expect(result.previousTaskDefinitionArn).toBe(PREVIOUS);
    expect(result.stages.map((s) => s.name)).toEqual([
      'validate',
      'checkout',
      'build',
      'test',
      'package',
      'register',
      'approval',
      'update',
      'wait_stable',
    ]);
    expect(result.stages.find((s) => s.name === 'approval')?.status).toBe('skipped');
    expect(acts.count('updateService')).toBe(1);
    expect(acts.count('deregisterTaskDefinition')).toBe(0);
    expect(acts.count('cleanupWorkspace')).toBe(1);
  });

  test('waits through an in-progress rollout until ECS reports it completed', async () => {
    const readings = [snapshot('in_progress', 0), snapshot('in_progress', 1), snapshot('completed')];
    const acts = fakeActivities({ checkRollout: async () => readings.shift() ?? snapshot('completed') });
    const result = await run(acts);
    expect(result.status).toBe('succeeded');
    expect(acts.count('checkRollout')).toBe(3);
  });

  test.each([
    ['describeTarget', 'validate', ErrorType.notFound],
    ['checkout', 'checkout', ErrorType.invalidInput],
    ['buildApp', 'build', ErrorType.compile],
    ['testApp', 'test', ErrorType.testFailure],
    ['packageImage', 'package', ErrorType.imageBuild],
    ['registerTaskDefinition', 'register', ErrorType.invalidInput],
  ] as const)('a failure in %s fails at stage %s and leaves the service untouched', async (activity, stage, type) => {
    const acts = fakeActivities({
      [activity]: async () => Promise.reject(nonRetryable(`${activity} broke`, type)),
      // Packaging outlives a failing test, as it does for real: the failure cancels it.
      ...(activity === 'testApp' ? { packageImage: slowPackage } : {}),
      ...(activity === 'packageImage' ? { testApp: slowTest } : {}),
    });
    const result = await run(acts);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ stage, message: `${activity} broke`, type });
    expect(acts.count('updateService')).toBe(0);
  });

  test('a failing test names the failure and retires nothing it did not register', async () => {
    const acts = fakeActivities({
      testApp: async () => Promise.reject(nonRetryable('TestHello failed', ErrorType.testFailure)),
      packageImage: slowPackage,
    });
    const result = await run(acts);
    expect(result.error?.stage).toBe('test');
    expect(acts.count('registerTaskDefinition')).toBe(0);
    expect(acts.count('deregisterTaskDefinition')).toBe(0);
  });

  test('a failed rollout rolls the service back to the previous revision and deregisters the new one', async () => {
    const acts = fakeActivities({
      checkRollout: async ({ taskDefinitionArn }) =>
        taskDefinitionArn === NEW ? snapshot('failed', 0) : snapshot('completed'),
    });
    const result = await run(acts);
    expect(result.status).toBe('rolled_back');
    expect(result.error?.stage).toBe('wait_stable');
    expect(result.error?.message).toContain('Essential container in task exited');
    expect(result.error?.message).toContain('exit 1');
    expect(result.rollback?.restoredTaskDefinitionArn).toBe(PREVIOUS);
    const updates = acts.calls
      .filter((c) => c.name === 'updateService')
      .map((c) => (c.input as { taskDefinitionArn: string }).taskDefinitionArn);
    expect(updates).toEqual([NEW, PREVIOUS]);
    expect(acts.calls.filter((c) => c.name === 'deregisterTaskDefinition').map((c) => c.input)).toEqual([
      { region: 'us-east-1', taskDefinitionArn: NEW },
    ]);
  });

  test('a rollout that never settles times out and is rolled back', async () => {
    const acts = fakeActivities({
      checkRollout: async ({ taskDefinitionArn }) =>
        taskDefinitionArn === NEW ? snapshot('in_progress', 1) : snapshot('completed'),
    });
    const result = await run(acts, input({ options: { stableTimeoutMs: 5_000, pollIntervalMs: 1000 } }));
    expect(result.status).toBe('rolled_back');
    expect(result.error?.type).toBe(ErrorType.rolloutTimeout);
    expect(result.error?.message).toContain('did not become stable within 5 s');
  });

  test('options beyond the bounds are refused before anything runs, naming the field', async () => {
    const acts = fakeActivities();
    const result = await run(acts, input({ options: { stableTimeoutMs: LIMITS.stableTimeoutMs.max + 1 } }));
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe('invalid options.stableTimeoutMs: 86400001 ms is outside 1 s to 1 d');
    expect(acts.calls).toEqual([]);
  });

  test('a transient error is retried and the deploy still succeeds', async () => {
    let calls = 0;
    const acts = fakeActivities({
      updateService: async ({ taskDefinitionArn }) => {
        calls += 1;
        if (calls === 1) throw new Error('ThrottlingException: Rate exceeded');
        return {
          previousTaskDefinitionArn: PREVIOUS,
          deploymentId: 'ecs-svc/2',
          changed: taskDefinitionArn !== PREVIOUS,
        };
      },
    });
    const result = await run(acts);
    expect(result.status).toBe('succeeded');
    expect(calls).toBe(2);
  });

  test('a rollback that fails is a loud workflow failure, not a quiet result', async () => {
    const acts = fakeActivities({
      checkRollout: async () => snapshot('failed', 0),
      updateService: async ({ taskDefinitionArn }) => {
        if (taskDefinitionArn === PREVIOUS) throw nonRetryable('AccessDenied on UpdateService', ErrorType.accessDenied);
        return { previousTaskDefinitionArn: PREVIOUS, deploymentId: 'ecs-svc/2', changed: true };
      },
    });
    const err = await run(acts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause?.message).toContain('ROLLBACK FAILED for prod/web');
    expect(cause?.message).toContain('AccessDenied on UpdateService');
  });

  test('bad input is refused before any activity runs, naming the field', async () => {
    const acts = fakeActivities();
    const result = await run(acts, input({ sha: 'main; rm -rf /' }));
    expect(result.status).toBe('failed');
    expect(result.error?.stage).toBe('validate');
    expect(result.error?.message).toMatch(/^invalid sha: /);
    expect(acts.calls).toEqual([]);
  });
});
