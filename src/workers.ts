/**
 * The worker process polls two task queues. The deploy queue runs workflows and the activities that do work
 * (checkouts, builds, tests, pushes, AWS calls), a few at a time. Its watch queue runs only light activities:
 * watchRollout, long waits on ECS through the shared reader, so a thousand rollouts can be followed at once without
 * taking the slots builds need; and notify, so a webhook's news never queues behind a build.
 */
import { Worker, type NativeConnection, type WorkerOptions, type WorkerStatus } from '@temporalio/worker';
import type { DeployActivities } from './shared/activities.js';
import { watchQueue } from './shared/names.js';

export interface DeployWorkersOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  activities: DeployActivities;
  /** Where the workflow code comes from: a path to bundle, or a bundle made once (tests). */
  workflows: Pick<WorkerOptions, 'workflowsPath'> | Pick<WorkerOptions, 'workflowBundle'>;
  /** Activities that do work, at once. */
  maxActivities?: number;
  /** Rollouts followed at once. */
  maxWatches?: number;
  /** Deploy and queue workflows kept in memory between their tasks; the rest replay their history when they wake. */
  maxCachedWorkflows?: number;
  /** How long running activities may finish after a shutdown begins, e.g. '30 seconds'. */
  shutdownGraceTime?: string;
  /** More options for the deploy queue's worker (tests tune caching). */
  tuning?: Partial<WorkerOptions>;
}

export interface DeployWorkers {
  /** Runs both workers until they are shut down (SIGINT and SIGTERM do that, through the SDK's runtime). */
  run(): Promise<void>;
  /** Runs both while `work` runs, then shuts them down and returns its result. */
  runUntil<T>(work: Promise<T>): Promise<T>;
  /** What each worker is doing now, for the health endpoint. */
  status(): { deploys: WorkerStatus; watches: WorkerStatus };
}

export const DEFAULT_MAX_ACTIVITIES = 20;
export const DEFAULT_MAX_WATCHES = 2_000;

export async function createDeployWorkers(opts: DeployWorkersOptions): Promise<DeployWorkers> {
  const common = {
    connection: opts.connection,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.shutdownGraceTime ? { shutdownGraceTime: opts.shutdownGraceTime } : {}),
  };
  const deploys = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    ...opts.workflows,
    activities: opts.activities,
    // A deploy's activities are mostly waiting on child processes and HTTP; a few at a time per core is plenty.
    maxConcurrentActivityTaskExecutions: opts.maxActivities ?? DEFAULT_MAX_ACTIVITIES,
    ...(opts.maxCachedWorkflows ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    ...opts.tuning,
  });
  const watches = await Worker.create({
    ...common,
    taskQueue: watchQueue(opts.taskQueue),
    activities: {
      watchRollout: (input: Parameters<DeployActivities['watchRollout']>[0]) => opts.activities.watchRollout(input),
      notify: (input: Parameters<DeployActivities['notify']>[0]) => opts.activities.notify(input),
    },
    maxConcurrentActivityTaskExecutions: opts.maxWatches ?? DEFAULT_MAX_WATCHES,
  });
  const run = async (): Promise<void> => {
    // Both stop together: the first to end (a shutdown, or a failure) ends the other.
    const runs = [deploys.run(), watches.run()];
    try {
      await Promise.race(runs);
    } finally {
      for (const w of [deploys, watches]) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(runs);
    }
    await Promise.all(runs);
  };
  return {
    run,
    status: () => ({ deploys: deploys.getStatus(), watches: watches.getStatus() }),
    async runUntil<T>(work: Promise<T>): Promise<T> {
      const running = run();
      try {
        return await work;
      } finally {
        for (const w of [deploys, watches]) if (w.getState() === 'RUNNING') w.shutdown();
        await running;
      }
    },
  };
}
