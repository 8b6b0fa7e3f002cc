/**
 * Tells the worker's webhook when a deploy waits for a person and how it ended. Deliveries run beside the deploy,
 * never in its way: nothing waits for one until the deploy has decided its ending, and a failed one is only logged.
 * Runs from before this existed (no NOTIFY_PATCH marker in their history) send nothing, so their histories replay.
 */
import { CancellationScope, log, patched } from '@temporalio/workflow';
import type { NotifyEvent, NotifyInput } from '../shared/notify.js';
import type { ApprovalView, DeployResult, DeployStatus } from '../shared/types.js';
import { notifications } from './activities.js';
import { causeMessage } from './common.js';
import type { DeployState } from './state.js';

export const NOTIFY_PATCH = 'notify';

/** The statuses people hear of. */
const EVENTS: ReadonlySet<DeployStatus> = new Set<DeployStatus>([
  'awaiting_approval',
  'succeeded',
  'failed',
  'rolled_back',
  'cancelled',
  'superseded',
]);

export class Notifier {
  private seq = 0;
  private readonly pending: Promise<void>[] = [];

  /** Follows the deploy's status from now on. */
  constructor(private readonly state: DeployState) {
    state.onStatus = (status) => this.send(status);
  }

  /**
   * Waits for deliveries still under way. The deploy calls this last: a run that has ended takes its unfinished
   * activities with it, so the final event would never arrive. Each delivery is bounded by its retry policy.
   */
  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }

  /** Undoing the deploy failed: the run is about to fail with `err`, and no result will say so. */
  rollbackFailed(err: unknown): void {
    const stage = this.state.stage ?? 'rollback';
    this.deliver('rollback_failed', { error: { stage, message: causeMessage(err) } });
  }

  private send(status: DeployStatus): void {
    if (EVENTS.has(status)) this.deliver(status as NotifyEvent);
  }

  private deliver(event: NotifyEvent, result?: NotifyInput['result']): void {
    if (!patched(NOTIFY_PATCH)) return;
    const input = this.event(event);
    if (result) input.result = result;
    // Its own scope: cancelling the deploy must not cancel the news that it was cancelled.
    const summary = `tell the webhook: ${event.replace('_', ' ')}`;
    const delivery = CancellationScope.nonCancellable(() =>
      notifications().notify.executeWithOptions({ summary }, [input]),
    ).then(
      (r) => {
        if (!r.delivered) log.debug(`${input.event} event not sent: ${r.detail}`);
      },
      (err: unknown) => log.warn(`the ${input.event} event did not reach the webhook: ${causeMessage(err)}`),
    );
    this.pending.push(delivery);
  }

  private event(event: NotifyEvent): NotifyInput {
    const { input, approval, result } = this.state;
    const { region, cluster, service } = input.target;
    const out: NotifyInput = {
      event,
      seq: ++this.seq,
      at: new Date().toISOString(),
      kind: input.rollbackTo ? 'rollback' : 'deploy',
      sha: input.sha,
      target: { region, cluster, service },
    };
    if (event === 'awaiting_approval') out.approval = approvalFacts(approval);
    else if (result) out.result = resultFacts(result);
    return out;
  }
}

function approvalFacts(a: ApprovalView): NonNullable<NotifyInput['approval']> {
  const out: NonNullable<NotifyInput['approval']> = { point: a.hook ? 'lifecycle_hook' : 'before_update' };
  if (a.hook) {
    if (a.hook.stage) out.hookStage = a.hook.stage;
    if (a.hook.expiresAt) out.expiresAt = a.hook.expiresAt;
    if (a.hook.timeoutAction) out.timeoutAction = a.hook.timeoutAction;
  }
  if (a.timeoutMs !== undefined) out.timeoutMs = a.timeoutMs;
  if (a.approvers?.length) out.approvers = a.approvers;
  if (a.requester) out.requester = a.requester;
  if (a.diff?.length) out.changes = a.diff.map((line) => line.split(': ')[0] ?? line);
  return out;
}

function resultFacts(r: DeployResult): NonNullable<NotifyInput['result']> {
  const out: NonNullable<NotifyInput['result']> = {};
  for (const key of ['imageRef', 'imageDigest', 'taskDefinitionArn', 'previousTaskDefinitionArn', 'note'] as const) {
    if (r[key]) out[key] = r[key];
  }
  if (r.rollback) out.rollback = r.rollback;
  if (r.endedBy) out.endedBy = r.endedBy;
  if (r.error) out.error = r.error;
  return out;
}
