/** The stability wait: short reads of ECS between durable timers, so a waiting deploy holds no worker slot. */
import { ApplicationFailure, CancellationScope, sleep } from '@temporalio/workflow';
import { ErrorType } from '../shared/errors.js';
import type { CheckRolloutInput, RolloutSnapshot } from '../shared/types.js';

export interface WaitStableOptions {
  rollout: CheckRolloutInput;
  check: (input: CheckRolloutInput) => Promise<RolloutSnapshot>;
  onSnapshot: (snapshot: RolloutSnapshot) => void;
  timeoutMs: number;
  pollIntervalMs: number;
}

/** After this long, reads slow down: a rollout that takes minutes does not need one read a second. */
const FAST_POLL_WINDOW_MS = 60_000;
const SLOW_POLL_MAX_MS = 10_000;

export async function waitStable(opts: WaitStableOptions): Promise<RolloutSnapshot> {
  const started = Date.now();
  let interval = opts.pollIntervalMs;
  for (;;) {
    // One read takes milliseconds: let it finish and take a cancel at the timer instead, so a cancel never races
    // an answer that is already on its way.
    const snapshot = await CancellationScope.nonCancellable(() => opts.check(opts.rollout));
    opts.onSnapshot(snapshot);
    if (snapshot.state === 'completed') return snapshot;
    if (snapshot.state === 'failed' || snapshot.state === 'rolled_back') {
      throw ApplicationFailure.nonRetryable(describeRolloutFailure(opts.rollout, snapshot), ErrorType.rolloutFailed);
    }
    const elapsed = Date.now() - started;
    if (elapsed >= opts.timeoutMs) {
      throw ApplicationFailure.nonRetryable(
        `rollout of ${opts.rollout.service} did not become stable within ${Math.round(opts.timeoutMs / 1000)} s: ${counts(snapshot)}${latestEvent(snapshot)}`,
        ErrorType.rolloutTimeout,
      );
    }
    if (elapsed > FAST_POLL_WINDOW_MS) interval = Math.min(Math.round(interval * 1.5), SLOW_POLL_MAX_MS);
    await sleep(Math.min(interval, Math.max(opts.timeoutMs - elapsed, 1)));
  }
}

function counts(s: RolloutSnapshot): string {
  return `running ${s.running}/${s.desired}, pending ${s.pending}, failed tasks ${s.failedTasks}`;
}

function latestEvent(s: RolloutSnapshot): string {
  const event = s.events[0];
  return event ? `; latest event: ${event.message}` : '';
}

/** Everything the person on call needs in one message: why ECS gave up, what the tasks said. */
export function describeRolloutFailure(rollout: CheckRolloutInput, s: RolloutSnapshot): string {
  const what = s.state === 'rolled_back' ? 'was rolled back by the ECS deployment circuit breaker' : 'failed';
  const parts = [`rollout of ${rollout.service} ${what}`];
  if (s.rolloutStateReason) parts.push(`reason: ${s.rolloutStateReason}`);
  parts.push(counts(s));
  for (const task of s.stoppedTasks.slice(0, 3)) {
    const containers = task.containers
      .map((c) => `${c.name} exit ${c.exitCode ?? '?'}${c.reason ? ` (${c.reason})` : ''}`)
      .join(', ');
    parts.push(
      `stopped task ${task.taskArn.split('/').pop() ?? task.taskArn}: ${task.stoppedReason ?? 'no reason'}${containers ? `; ${containers}` : ''}`,
    );
  }
  const event = s.events[0];
  if (event) parts.push(`latest event: ${event.message}`);
  return parts.join('; ');
}
