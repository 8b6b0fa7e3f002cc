/** Reading an ECS rollout: pure functions over DescribeServices and DescribeTasks answers. */
import type { Deployment, Service, Task } from '@aws-sdk/client-ecs';
import type { RolloutSnapshot, ServiceEventView, StoppedTaskView } from '../shared/types.js';

/** The deployment a deploy follows: the one its update created, on the revision it registered. */
export interface FollowedDeployment {
  deploymentId?: string;
  taskDefinitionArn: string;
}

export const EVENTS_SHOWN = 5;
export const STOPPED_TASKS_SHOWN = 5;

/**
 * Where the followed rollout stands. ECS keeps the new deployment PRIMARY while it rolls out
 * (IN_PROGRESS, then COMPLETED or FAILED); a circuit-breaker rollback replaces it with a new
 * PRIMARY on the previous revision, so a vanished deployment or a foreign PRIMARY means rolled back.
 */
export function interpretRollout(service: Service, followed: FollowedDeployment): RolloutSnapshot {
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const ours = primary?.taskDefinition === followed.taskDefinitionArn ? primary : undefined;
  // A deployment forced on the same revision replaces ours without being a rollback.
  const deployment = deployments.find((d) => d.id !== undefined && d.id === followed.deploymentId) ?? ours;
  const shown = deployment ?? primary;
  const snapshot: RolloutSnapshot = {
    state: rolloutState(deployment, ours, deployments.length),
    desired: shown?.desiredCount ?? service.desiredCount ?? 0,
    running: shown?.runningCount ?? service.runningCount ?? 0,
    pending: shown?.pendingCount ?? service.pendingCount ?? 0,
    failedTasks: shown?.failedTasks ?? 0,
    events: eventViews(service),
    stoppedTasks: [],
  };
  if (shown?.id !== undefined) snapshot.deploymentId = shown.id;
  if (shown?.rolloutState !== undefined) snapshot.rolloutState = shown.rolloutState;
  if (shown?.rolloutStateReason !== undefined) snapshot.rolloutStateReason = shown.rolloutStateReason;
  return snapshot;
}

function rolloutState(
  deployment: Deployment | undefined,
  ours: Deployment | undefined,
  count: number,
): RolloutSnapshot['state'] {
  if (deployment === undefined || ours === undefined) return 'rolled_back';
  if (deployment.rolloutState === 'FAILED') return 'failed';
  if (deployment !== ours) return 'in_progress';
  if (deployment.rolloutState === 'COMPLETED') return 'completed';
  // Without rolloutState (no circuit breaker data) use the SDK waiter's rule.
  const settled = count === 1 && deployment.runningCount === deployment.desiredCount;
  return deployment.rolloutState === undefined && settled ? 'completed' : 'in_progress';
}

/** The newest service events first, as ECS lists them. */
export function eventViews(service: Service, limit = EVENTS_SHOWN): ServiceEventView[] {
  return [...(service.events ?? [])]
    .sort((a, b) => time(b.createdAt) - time(a.createdAt))
    .slice(0, limit)
    .map((e) => ({ createdAt: e.createdAt?.toISOString() ?? '', message: e.message ?? '' }));
}

/** The most recently stopped tasks of one revision, with what a person needs to see why. */
export function stoppedTaskViews(
  tasks: Task[],
  taskDefinitionArn: string,
  limit = STOPPED_TASKS_SHOWN,
): StoppedTaskView[] {
  return tasks
    .filter((t) => t.taskDefinitionArn === taskDefinitionArn)
    .sort((a, b) => time(b.stoppedAt) - time(a.stoppedAt))
    .slice(0, limit)
    .map((t) => {
      const view: StoppedTaskView = {
        taskArn: t.taskArn ?? '',
        containers: (t.containers ?? []).map((c) => {
          const container: StoppedTaskView['containers'][number] = { name: c.name ?? '' };
          if (c.exitCode !== undefined) container.exitCode = c.exitCode;
          if (c.reason !== undefined) container.reason = c.reason;
          return container;
        }),
      };
      if (t.stoppedReason !== undefined) view.stoppedReason = t.stoppedReason;
      return view;
    });
}

function time(date: Date | undefined): number {
  return date?.getTime() ?? 0;
}
