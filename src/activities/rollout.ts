/**
 * Reading an ECS rollout: pure functions over DescribeServiceDeployments (the truth, for every strategy),
 * DescribeServices (the rolling view, where the service-deployment API is not there) and DescribeTasks answers.
 */
import type { Deployment, Service, ServiceDeployment, Task } from '@aws-sdk/client-ecs';
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

/**
 * Where a service deployment stands. ECS reports the lifecycle, the traffic split, hooks, the circuit breaker, the
 * alarms and its own rollback here, whatever the strategy. `current` is the service's currentServiceDeployment,
 * when it was read: a stopped deployment that is no longer current was replaced by someone else's.
 */
export function interpretServiceDeployment(sd: ServiceDeployment, current?: string): RolloutSnapshot {
  const target = sd.targetServiceRevision;
  const hook = (sd.lifecycleHookDetails ?? []).find((h) => h.targetType === 'PAUSE' && h.status === 'AWAITING_ACTION');
  const snapshot: RolloutSnapshot = {
    state: serviceDeploymentState(sd, hook !== undefined, current),
    desired: target?.requestedTaskCount ?? 0,
    running: target?.runningTaskCount ?? 0,
    pending: target?.pendingTaskCount ?? 0,
    failedTasks: sd.deploymentCircuitBreaker?.failureCount ?? 0,
    events: [],
    stoppedTasks: [],
  };
  if (sd.serviceDeploymentArn) snapshot.serviceDeploymentArn = sd.serviceDeploymentArn;
  if (sd.status) snapshot.rolloutState = sd.status;
  if (sd.statusReason) snapshot.rolloutStateReason = sd.statusReason;
  if (sd.deploymentConfiguration?.strategy) snapshot.strategy = sd.deploymentConfiguration.strategy;
  if (sd.lifecycleStage) snapshot.lifecycleStage = sd.lifecycleStage;
  if (target?.requestedProductionTrafficWeight !== undefined || target?.requestedTestTrafficWeight !== undefined) {
    snapshot.traffic = {
      production: target.requestedProductionTrafficWeight ?? 0,
      test: target.requestedTestTrafficWeight ?? 0,
    };
  }
  if (hook?.hookId) {
    snapshot.pausedHook = { hookId: hook.hookId };
    if (sd.lifecycleStage) snapshot.pausedHook.stage = sd.lifecycleStage;
    if (hook.expiresAt) snapshot.pausedHook.expiresAt = hook.expiresAt.toISOString();
    if (hook.timeoutAction) snapshot.pausedHook.timeoutAction = hook.timeoutAction;
  }
  const failed = (sd.lifecycleHookDetails ?? []).find((h) => h.status === 'FAILED' || h.status === 'TIMED_OUT');
  if (failed?.hookId && failed.status) snapshot.failedHook = { hookId: failed.hookId, status: failed.status };
  const breaker = sd.deploymentCircuitBreaker;
  if (breaker?.status && breaker.status !== 'DISABLED') {
    snapshot.circuitBreaker = {
      status: breaker.status,
      failureCount: breaker.failureCount ?? 0,
      threshold: breaker.threshold ?? 0,
    };
  }
  if (sd.alarms?.status && sd.alarms.status !== 'DISABLED') {
    snapshot.alarms = { status: sd.alarms.status, triggered: sd.alarms.triggeredAlarmNames ?? [] };
  }
  if (sd.rollback?.reason) snapshot.rollbackReason = sd.rollback.reason;
  if (sd.finishedAt) snapshot.finishedAt = sd.finishedAt.toISOString();
  return snapshot;
}

function serviceDeploymentState(
  sd: ServiceDeployment,
  paused: boolean,
  current: string | undefined,
): RolloutSnapshot['state'] {
  switch (sd.status) {
    case 'SUCCESSFUL':
      return 'completed';
    case 'ROLLBACK_REQUESTED':
    case 'ROLLBACK_IN_PROGRESS':
      return 'rolling_back';
    case 'ROLLBACK_SUCCESSFUL':
      return 'rolled_back';
    case 'ROLLBACK_FAILED':
      return 'rollback_failed';
    case 'STOPPED':
    case 'STOP_REQUESTED':
      return current !== undefined && current !== sd.serviceDeploymentArn ? 'replaced' : 'failed';
    default:
      return paused ? 'paused' : 'in_progress';
  }
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
