/** What a deploy waits for before it touches the service besides approval (approval.ts): older deploys letting go. */
import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType, errorMessage } from '../shared/errors.js';
import type { DeployInput, DeployResult } from '../shared/types.js';
import type { Controls } from './controls.js';
import { deployEndedSignal, predecessorDoneSignal, supersedeSignal } from './messages.js';
import type { DeployState } from './state.js';

/** Asks older deploys of the same service to stand down; they answer once they have let go of it. */
export async function claimService(input: DeployInput, controls: Controls): Promise<void> {
  const me = workflowInfo().workflowId;
  for (const id of input.supersedes ?? []) {
    if (id === me) continue;
    // Added before sending: the older deploy may answer before this signal's completion is seen here.
    controls.predecessors.add(id);
    try {
      await getExternalWorkflowHandle(id).signal(supersedeSignal, { by: me, sha: input.sha });
    } catch (err) {
      controls.predecessors.delete(id);
      log.info(`deploy ${id} did not take the supersede signal (already finished?): ${errorMessage(err)}`);
    }
  }
}

/** Never two rollouts on one service: the update waits until every superseded deploy has compensated and ended. */
export async function awaitPredecessors(controls: Controls, timeoutMs: number): Promise<void> {
  if (controls.predecessors.size === 0) return;
  const free = await condition(() => controls.predecessors.size === 0, timeoutMs);
  if (!free) {
    throw ApplicationFailure.nonRetryable(
      `older deploys still hold the service: ${[...controls.predecessors].join(', ')}; cancel them or wait`,
      ErrorType.invalidInput,
    );
  }
}

/**
 * Never two rollouts on one service: the service's queue grants the lease once every older deploy of the service
 * has ended (compensated, if it had to). Bounded like the wait for older deploys.
 */
export async function awaitLease(state: DeployState, controls: Controls, timeoutMs: number): Promise<void> {
  const queue = state.input.queue;
  if (!queue || controls.leaseGranted) return;
  const granted = await condition(() => controls.leaseGranted, timeoutMs);
  if (!granted) {
    throw ApplicationFailure.nonRetryable(
      `older deploys still hold the service after ${formatDuration(timeoutMs)} (see the queue ${queue.workflowId}); cancel them or deploy again`,
      ErrorType.invalidInput,
    );
  }
}

/** Patch id: queued deploys tell their queue how they ended (histories before it do not). */
export const TELL_QUEUE_PATCH = 'tell-queue';

/** Tells the service's queue how this deploy ended, so the next request is decided knowing it. Best effort. */
export async function notifyQueue(state: DeployState, result: DeployResult): Promise<void> {
  const queue = state.input.queue?.workflowId;
  if (!queue || !patched(TELL_QUEUE_PATCH)) return;
  try {
    await getExternalWorkflowHandle(queue).signal(deployEndedSignal, result);
  } catch (err) {
    // The queue follows its children's results too; this only makes it know sooner.
    log.warn(`could not tell the queue ${queue} how ${workflowInfo().workflowId} ended: ${errorMessage(err)}`);
  }
}

/** Tells newer deploys that this one has let go of the service. Deploys added while this runs are told too. */
export async function notifySuccessors(controls: Controls): Promise<void> {
  const me = workflowInfo().workflowId;
  for (const id of controls.successors) {
    try {
      await getExternalWorkflowHandle(id).signal(predecessorDoneSignal, { workflowId: me });
    } catch (err) {
      log.warn(`could not tell ${id} that ${me} is done: ${errorMessage(err)}`);
    }
  }
}

/** "1 h", "15 min", "3 s": for messages people read. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}
