/**
 * The JSON a webhook receives: a `text` a chat shows as it is (Slack reads only that field), and the same facts as
 * fields for programs. Made in the worker, which knows the UI's address; the workflow only sends the facts.
 */
import type { NotifyInput } from '../shared/notify.js';

export interface RunRef {
  namespace: string;
  workflowId: string;
  runId: string;
}

export interface WebhookEvent {
  text: string;
  event: NotifyInput['event'];
  /** `<workflowId>/<runId>/<seq>`: the same for every retry of one delivery. */
  id: string;
  at: string;
  /** The run's page in the Temporal UI. */
  uiUrl: string;
  /** With awaiting_approval: what an approver runs. */
  approveCommand?: string;
  deploy: {
    kind: 'deploy' | 'rollback';
    sha: string;
    region: string;
    cluster: string;
    service: string;
    namespace: string;
    workflowId: string;
    runId: string;
  };
  approval?: NotifyInput['approval'];
  result?: NotifyInput['result'];
}

/** Long error messages (a failing test's output) are cut here: the UI link has the rest. */
const MAX_DETAIL = 300;

/** The run's page: `<ui>/namespaces/<ns>/workflows/<id>/<runId>/history` (the CLI prints the same link). */
export function runPageUrl(uiUrl: string, run: RunRef): string {
  const base = uiUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(run.namespace)}/workflows/${encodeURIComponent(run.workflowId)}/${encodeURIComponent(run.runId)}/history`;
}

export function webhookEvent(input: NotifyInput, run: RunRef, uiUrl: string): WebhookEvent {
  const page = runPageUrl(uiUrl, run);
  const { region, cluster, service } = input.target;
  const event: WebhookEvent = {
    text: '',
    event: input.event,
    id: `${run.workflowId}/${run.runId}/${input.seq}`,
    at: input.at,
    uiUrl: page,
    deploy: { kind: input.kind, sha: input.sha, region, cluster, service, ...run },
  };
  if (input.event === 'awaiting_approval') event.approveCommand = `deployctl approve ${run.workflowId}`;
  if (input.approval) event.approval = input.approval;
  if (input.result) event.result = input.result;
  event.text = [headline(input), ...details(input, event.approveCommand), `Run: ${page}`].join('\n');
  return event;
}

function headline(input: NotifyInput): string {
  const what = `${input.target.cluster}/${input.target.service}: ${input.kind === 'rollback' ? 'rollback to' : 'deploy of'} ${input.sha.slice(0, 12)}`;
  const r = input.result;
  switch (input.event) {
    case 'awaiting_approval': {
      const a = input.approval;
      if (a?.point === 'lifecycle_hook') {
        const hook = a.hookStage ? `the ECS lifecycle hook ${a.hookStage}` : 'an ECS lifecycle hook';
        const expiry = a.expiresAt ? `; ECS applies ${a.timeoutAction ?? 'its timeout action'} at ${a.expiresAt}` : '';
        return `${what} awaits approval at ${hook}${expiry}`;
      }
      return `${what} awaits approval before the service is updated`;
    }
    case 'succeeded':
      return `${what} succeeded${r?.taskDefinitionArn ? `: ${revision(r.taskDefinitionArn)} is live` : ''}`;
    case 'failed':
      return `${what} failed${r?.error ? ` at ${r.error.stage}` : ''}`;
    case 'rolled_back':
      return `${what} was rolled back${r?.rollback ? ` to ${revision(r.rollback.restoredTaskDefinitionArn)}` : ''}`;
    case 'cancelled':
      return `${what} was cancelled${r?.endedBy ? ` by ${r.endedBy.by}` : ''}`;
    case 'superseded':
      return `${what} was superseded${r?.endedBy ? ` by ${r.endedBy.by}` : ''}`;
    case 'rollback_failed':
      return `${what} failed, and ROLLBACK FAILED: the service needs a person now`;
  }
}

function details(input: NotifyInput, approveCommand: string | undefined): string[] {
  const lines: string[] = [];
  const a = input.approval;
  if (input.event === 'awaiting_approval') {
    if (a?.changes?.length) lines.push(`Changes: ${a.changes.join(', ')}`);
    if (a?.approvers?.length) lines.push(`Approvers: ${a.approvers.join(', ')}`);
    if (a?.requester) lines.push(`Requested by: ${a.requester.id} (${a.requester.proof})`);
    if (approveCommand) lines.push(`Approve: ${approveCommand}`);
    return lines;
  }
  const r = input.result;
  if (r?.rollback) lines.push(`Why: ${cut(r.rollback.reason)}`);
  else if (r?.endedBy) lines.push(`Why: ${cut(r.endedBy.reason)}`);
  else if (r?.error) lines.push(`Error: ${cut(r.error.message)}`);
  if (input.event === 'succeeded' && r?.imageDigest) lines.push(`Image: ${r.imageDigest}`);
  return lines;
}

function cut(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL - 1)}…` : oneLine;
}

function revision(arn: string): string {
  return arn.split('/').pop() ?? arn;
}
