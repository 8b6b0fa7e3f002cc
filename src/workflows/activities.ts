/** Activity proxies, each with timeouts and retries fitted to what it does. */
import { ActivityCancellationType, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DeployActivities } from '../shared/activities.js';
import { ErrorType } from '../shared/errors.js';
import { watchQueue } from '../shared/names.js';

/** Errors no retry can fix: they fail the stage at once. */
const nonRetryableErrorTypes = Object.values(ErrorType);

/** Git checkout: network blips are retried, a missing commit is not. */
export const source = proxyActivities<Pick<DeployActivities, 'checkout' | 'cleanupWorkspace'>>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes,
  },
});

/** Compiling and testing heartbeat (every 5 s), so a dead worker is noticed in 30 s rather than at the timeout. */
export const go = proxyActivities<Pick<DeployActivities, 'buildApp' | 'testApp'>>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
});

/** Image build and push: registry hiccups and expired tokens are worth several tries. */
export const image = proxyActivities<Pick<DeployActivities, 'packageImage' | 'discardImage'>>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '30 seconds',
  // A cancelled push may still complete; waiting for it lets a failed deploy remove what it pushed.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '3s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 6,
    nonRetryableErrorTypes,
  },
});

/** Short AWS control-plane calls: throttling and 5xx back off and retry. */
export const aws = proxyActivities<
  Pick<
    DeployActivities,
    | 'checkRepository'
    | 'verifyImage'
    | 'checkImageDigest'
    | 'describeTarget'
    | 'observeService'
    | 'registerTaskDefinition'
    | 'restoreRevision'
    | 'updateService'
    | 'checkRollout'
    | 'deregisterTaskDefinition'
    | 'stopRollout'
    | 'continueRollout'
  >
>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes,
  },
});

/**
 * Following a rollout: each call lasts until news or a checkpoint (at most a few minutes), heartbeating every read, so
 * a dead worker is noticed in 10 s and another worker reads on. Read errors that pass are absorbed inside the call.
 */
/**
 * Following a rollout: each call lasts until news or a checkpoint (at most a few minutes), heartbeating every read, so
 * a dead worker is noticed in 10 s and another worker reads on. Read errors that pass are absorbed inside the call.
 * It runs on the deploy queue's watch queue (workers.ts), made here from the deploy's own task queue.
 */
export function watch() {
  return proxyActivities<Pick<DeployActivities, 'watchRollout'>>({
    taskQueue: watchQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '15 minutes',
    // The SDK sends heartbeats at most every 0.8 of this: task counts a person watches are at most 8 s old.
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 20,
      nonRetryableErrorTypes,
    },
  });
}

/** Following a rollback: like the forward watch, but it does not give up early either. */
export function watchCompensation() {
  return proxyActivities<Pick<DeployActivities, 'watchRollout'>>({
    taskQueue: watchQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 60,
      nonRetryableErrorTypes,
    },
  });
}

/** Compensation must not give up early: it keeps trying for much longer than a forward step. */
export const awsCompensation = proxyActivities<
  Pick<
    DeployActivities,
    'updateService' | 'checkRollout' | 'deregisterTaskDefinition' | 'observeService' | 'stopRollout'
  >
>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 30,
    nonRetryableErrorTypes,
  },
});

/**
 * The worker's approval policy and ID-token checks: quick, and a refused token is an answer, not an error. Only an
 * issuer that cannot be reached fails, after a few tries, so an approval never waits long on it.
 */
export const identity = proxyActivities<Pick<DeployActivities, 'approvalPolicy' | 'verifyIdentity'>>({
  startToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 4,
    nonRetryableErrorTypes,
  },
});

/**
 * Telling the worker's webhook, from a notice's own run (src/workflows/notify.ts), which no deploy waits for: so a
 * receiver that is down can have a few tries over half a minute. On the light queue, never behind builds.
 */
export function notifications() {
  return proxyActivities<Pick<DeployActivities, 'notify'>>({
    taskQueue: watchQueue(workflowInfo().taskQueue),
    scheduleToCloseTimeout: '3 minutes',
    startToCloseTimeout: '10 seconds',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
  });
}
