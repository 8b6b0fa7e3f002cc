/**
 * The stability wait. Deploys follow the rollout with `watchRollout`: one activity per stretch, which reads ECS
 * through the worker's shared reader and returns only at news the record must show, so a long rollout adds a few
 * events, not a few per second. Runs started before that poll with `checkRollout` between durable timers.
 */
import { ApplicationFailure, CancellationScope, patched, sleep } from '@temporalio/workflow';
import { LIMITS } from '../shared/validate.js';
import { ErrorType } from '../shared/errors.js';
import { milestone } from '../shared/rollout.js';
import type { CheckRolloutInput, RolloutSnapshot, WatchRolloutInput } from '../shared/types.js';

export interface WaitStableOptions {
  rollout: CheckRolloutInput;
  check: (input: CheckRolloutInput) => Promise<RolloutSnapshot>;
  watch: (input: WatchRolloutInput) => Promise<RolloutSnapshot>;
  onSnapshot: (snapshot: RolloutSnapshot) => void;
  /** Called when a PAUSE hook awaits an answer; the wait goes on when it returns. */
  onPaused?: (snapshot: RolloutSnapshot) => Promise<void>;
  timeoutMs: number;
  pollIntervalMs: number;
  /** What ends the wait well: the new revision stable, or ECS's own rollback done. Default completed. */
  until?: 'completed' | 'rolled_back';
}

/** Patch id: deploys that follow the rollout with watchRollout (histories before it poll with checkRollout). */
export const WATCH_PATCH = 'watch-rollout';

/** After this long, reads slow down: a rollout that takes minutes does not need one read a second. */
const FAST_POLL_WINDOW_MS = 60_000;
const SLOW_POLL_MAX_MS = 10_000;
/** The shortest stretch of one watch: short enough that the UI's record stays fresh, long enough to stay small. */
const MIN_CHECKPOINT_MS = 60_000;
/** Checkpoints per wait at most, whatever its timeout: the history of the longest wait stays bounded. */
export const MAX_CHECKPOINTS = 40;

/** How long one watch may last before it returns with or without news. */
export function watchStretchMs(timeoutMs: number): number {
  return Math.max(MIN_CHECKPOINT_MS, Math.ceil(Math.min(timeoutMs, LIMITS.stableTimeoutMs.max) / MAX_CHECKPOINTS));
}

export async function waitStable(opts: WaitStableOptions): Promise<RolloutSnapshot> {
  if (patched(WATCH_PATCH)) return await watchUntilSettled(opts);
  return await pollUntilSettled(opts);
}

async function watchUntilSettled(opts: WaitStableOptions): Promise<RolloutSnapshot> {
  const until = opts.until ?? 'completed';
  const started = Date.now();
  // Time a paused hook waits for a person does not count against the rollout: it moves the deadline on.
  let deadline = started + opts.timeoutMs;
  const stretch = watchStretchMs(opts.timeoutMs);
  let seen: string | undefined;
  for (;;) {
    const returnByMs = Math.min(deadline, Date.now() + stretch);
    const snapshot = await opts.watch({
      ...opts.rollout,
      returnBy: new Date(returnByMs).toISOString(),
      pollIntervalMs: opts.pollIntervalMs,
      ...(seen ? { seen } : {}),
    });
    opts.onSnapshot(snapshot);
    const news = milestone(snapshot) !== seen;
    seen = milestone(snapshot);
    if (snapshot.state === until) return snapshot;
    if (isBad(snapshot, until)) {
      throw ApplicationFailure.nonRetryable(describeRolloutFailure(opts.rollout, snapshot), ErrorType.rolloutFailed);
    }
    if (snapshot.state === 'paused' && opts.onPaused) {
      const pausedAt = Date.now();
      await opts.onPaused(snapshot);
      deadline += Date.now() - pausedAt;
    }
    // A watch that came back early with nothing new (a retry on a worker that lost the first) waits out its stretch
    // on a durable timer: however the activity behaves, a wait makes at most one call per stretch plus its news.
    else if (!news && Date.now() < returnByMs) await sleep(returnByMs - Date.now());
    if (Date.now() >= deadline) {
      throw ApplicationFailure.nonRetryable(
        `rollout of ${opts.rollout.service} did not ${until === 'completed' ? 'become stable' : 'roll back'} within ${Math.round(opts.timeoutMs / 1000)} s: ${counts(snapshot)}${latestEvent(snapshot)}`,
        ErrorType.rolloutTimeout,
      );
    }
  }
}

/** A final state other than the one the wait is for. */
function isBad(s: RolloutSnapshot, until: WaitStableOptions['until']): boolean {
  const bad: RolloutSnapshot['state'][] = ['failed', 'rollback_failed', 'replaced'];
  bad.push(until === 'completed' ? 'rolled_back' : 'completed');
  return bad.includes(s.state);
}

async function pollUntilSettled(opts: WaitStableOptions): Promise<RolloutSnapshot> {
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

const WHAT_HAPPENED: Record<string, string> = {
  rolled_back: 'was rolled back by ECS',
  rollback_failed: "failed, and ECS's own rollback failed too",
  replaced: "was replaced by another deployment of the service, not this deploy's",
  failed: 'failed',
  completed: 'completed while a rollback was awaited',
};

/** Everything the person on call needs in one message: why ECS gave up, what the monitors and tasks said. */
export function describeRolloutFailure(rollout: CheckRolloutInput, s: RolloutSnapshot): string {
  const what =
    s.state === 'rolled_back' && !s.serviceDeploymentArn
      ? 'was rolled back by the ECS deployment circuit breaker'
      : (WHAT_HAPPENED[s.state] ?? s.state);
  const parts = [`rollout of ${rollout.service} ${what}`];
  const reason = s.rollbackReason ?? s.rolloutStateReason;
  if (reason) parts.push(`reason: ${reason}`);
  if (s.circuitBreaker?.status === 'TRIGGERED') {
    parts.push(
      `circuit breaker tripped after ${s.circuitBreaker.failureCount} failed tasks (threshold ${s.circuitBreaker.threshold})`,
    );
  }
  if (s.alarms?.status === 'TRIGGERED') parts.push(`alarms in ALARM: ${s.alarms.triggered.join(', ') || 'unnamed'}`);
  if (s.failedHook)
    parts.push(
      `lifecycle hook ${s.failedHook.hookId} ${s.failedHook.status === 'TIMED_OUT' ? 'timed out' : 'failed'}${s.failedHook.stage ? ` at ${s.failedHook.stage}` : ''}`,
    );
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
