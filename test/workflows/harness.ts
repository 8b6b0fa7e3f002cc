/** Running deploys on the time-skipping server with fake activities, and steering them while they run. */
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../support/temporal.js';
import type { DeployActivities } from '../../src/shared/activities.js';
import type { DeployInput, DeployProgress } from '../../src/shared/types.js';
import { deploy } from '../../src/workflows/deploy.js';
import { progressQuery } from '../../src/workflows/messages.js';
import { createDeployWorkers } from '../../src/workers.js';

let n = 0;

/**
 * A time-skipping server of its own for each test of the file, handed to `set`: a server whose clock a test held (a
 * wait at a hook, a notice that ended after its deploy: temporalio/sdk-typescript#1101) never stalls the next test.
 */
export function serverPerTest(set: (env: TestWorkflowEnvironment) => void): void {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    await workflowBundle();
  });
  beforeEach(async () => {
    env = await timeSkippingEnv();
    set(env);
  });
  afterEach(async () => {
    await env?.teardown();
  });
}

/** Runs `fn` while a worker with these activities polls a fresh task queue. */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  activities: DeployActivities,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `tq-${process.pid}-${++n}`;
  const workers = await createDeployWorkers({
    connection: env.nativeConnection,
    taskQueue,
    workflows: { workflowBundle: await workflowBundle() },
    activities,
  });
  return await workers.runUntil(fn(taskQueue).finally(() => settleNotices(env)));
}

/**
 * Lets the deploys' notices (notifyWebhook runs, which outlive their deploy by design) end while the worker still
 * runs, and terminates any that do not within a few seconds. One left behind without a worker would hold a
 * workflow task open, and the test server skips no time while one is open: every later test would hang.
 */
export async function settleNotices(env: TestWorkflowEnvironment, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { executions } = await env.client.workflowService.listOpenWorkflowExecutions({
      namespace: env.client.options.namespace,
      maximumPageSize: 1000,
      typeFilter: { name: 'notifyWebhook' },
    });
    if (!executions?.length) return;
    if (Date.now() > deadline) {
      for (const e of executions) {
        await env.client.workflow
          .getHandle(e.execution?.workflowId ?? '', e.execution?.runId ?? undefined)
          .terminate('the test is over')
          .catch(() => undefined);
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startDeploy(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  args: DeployInput,
  workflowId = `wf-${process.pid}-${++n}`,
): Promise<WorkflowHandle<typeof deploy>> {
  return await env.client.workflow.start(deploy, { taskQueue, workflowId, args: [args] });
}

/** Queries progress until `done` holds. Time does not skip while the test only queries. */
export async function waitForProgress(
  handle: WorkflowHandle<typeof deploy>,
  done: (p: DeployProgress) => boolean,
  timeoutMs = 20_000,
): Promise<DeployProgress> {
  const deadline = Date.now() + timeoutMs;
  let last: DeployProgress | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(progressQuery);
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`progress never reached the expected state; last: ${JSON.stringify(last)}`);
}

export const statusIs =
  (status: DeployProgress['status']) =>
  (p: DeployProgress): boolean =>
    p.status === status;
