/**
 * Tells the worker's webhook when a deploy waits for a person and how it ended. Each notice is a short run of its own
 * (notifyWebhook), started as an abandoned child: the deploy waits only for the server to accept it, never for the
 * webhook, so a receiver that is down or slow neither delays a deploy's result nor changes it, and the final notice
 * still goes out after the deploy has returned. A failed notice is a failed notifyWebhook run, visible in the UI.
 * Runs from before this existed (no NOTIFY_PATCH marker in their history) send nothing, so their histories replay.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  log,
  patched,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { NotifyEvent, NotifyInput, NotifyResult } from '../shared/notify.js';
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
  /** Notices whose start the server has not yet confirmed. */
  private readonly starting: Promise<void>[] = [];

  /** Follows the deploy's status from now on. */
  constructor(private readonly state: DeployState) {
    state.onStatus = (status) => this.send(status);
  }

  /**
   * Waits until the server has accepted every notice (one round trip, not a delivery). The deploy calls this last:
   * a child whose start was never confirmed may not outlive its parent.
   */
  async settled(): Promise<void> {
    await Promise.all(this.starting);
  }

  /** Undoing the deploy failed: the run is about to fail with `err`, and no result will say so. */
  rollbackFailed(err: unknown): void {
    const stage = this.state.stage ?? 'rollback';
    this.deliver('rollback_failed', { error: { stage, message: causeMessage(err) } });
  }

  private send(status: DeployStatus): void {
    if (!EVENTS.has(status)) return;
    // The approval stage sets the status as it starts, before the code that opens it says where it waits (a hook):
    // read the approval once that code has run, still in the same activation.
    if (status === 'awaiting_approval') void Promise.resolve().then(() => this.deliver('awaiting_approval'));
    else this.deliver(status as NotifyEvent);
  }

  private deliver(event: NotifyEvent, result?: NotifyInput['result']): void {
    if (!patched(NOTIFY_PATCH)) return;
    const input = this.event(event);
    if (result) input.result = result;
    const { workflowId, runId } = workflowInfo();
    // Its own scope: cancelling the deploy must not cancel the news that it was cancelled.
    const start = CancellationScope.nonCancellable(() =>
      startChild(notifyWebhook, {
        workflowId: `${workflowId}.notify.${runId.slice(0, 8)}.${input.seq}`,
        args: [input],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        staticSummary: `Tell the webhook: ${event.replace('_', ' ')}`,
      }),
    ).then(
      (child) => {
        // Heard only while the deploy still runs; nothing waits for it.
        void child.result().then(
          (r) => log.debug(`${event} event: ${r.detail}`),
          (err: unknown) => log.warn(`the ${event} event did not reach the webhook: ${causeMessage(err)}`),
        );
      },
      (err: unknown) => log.warn(`failed to start the ${event} notice: ${causeMessage(err)}`),
    );
    this.starting.push(start);
  }

  private event(event: NotifyEvent): NotifyInput {
    const { input, approval, result } = this.state;
    const { region, cluster, service } = input.target;
    const out: NotifyInput = {
      event,
      seq: ++this.seq,
      run: { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId },
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

/** One notice, delivered by the notify activity with its retries; fails when every try failed. */
export async function notifyWebhook(input: NotifyInput): Promise<NotifyResult> {
  return await notifications().notify.executeWithOptions({ summary: `POST the ${input.event} event` }, [input]);
}
