/** What deployctl does with Temporal: request deploys and rollbacks of a service's queue, watch, approve, cancel, list. */
import { knownArtifacts } from '../shared/artifacts.js';
import {
  WithStartWorkflowOperation,
  WorkflowIdConflictPolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { QUEUE_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, WORKFLOW_TYPE, queueWorkflowId } from '../shared/names.js';
import type { ApprovalView, DeployProgress, DeployResult, FinalStatus } from '../shared/types.js';
import {
  approveUpdate,
  rejectUpdate,
  cancelSignal,
  progressQuery,
  queueQuery,
  requestUpdate,
  type QueueAnswer,
  type QueueRequest,
  type QueueView,
} from '../workflows/messages.js';
import type { deploy } from '../workflows/deploy.js';
import type { serviceQueue } from '../workflows/queue.js';

export interface StartedDeploy {
  handle: WorkflowHandle<typeof deploy>;
  /** started: a new deploy; attached: the newest deploy of the service was already this SHA. */
  mode: 'started' | 'attached';
  runId: string;
  /** The deploy's place in its service's queue. */
  seq: number;
  superseding: string[];
}

const saService = defineSearchAttributeKey(SEARCH_ATTRIBUTES.service, SearchAttributeType.KEYWORD);

export function serviceKey(cluster: string, service: string): string {
  return `${cluster}/${service}`;
}

/**
 * Asks the service's queue for a deploy of a SHA, or a rollback, with update-with-start: the first request creates
 * the queue, and the queue orders requests as the server accepted them, so two started in the same instant never
 * miss each other. The same SHA as the newest running deploy attaches to it.
 */
export async function requestDeploy(opts: {
  client: Client;
  taskQueue: string;
  request: QueueRequest;
}): Promise<StartedDeploy> {
  const { client, taskQueue, request } = opts;
  const { region, cluster, service } = request.target;
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof serviceQueue>(QUEUE_WORKFLOW_TYPE, {
    workflowId: queueWorkflowId(request.target),
    taskQueue,
    args: [{ region, cluster, service }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    typedSearchAttributes: [{ key: saService, value: serviceKey(cluster, service) }],
    staticSummary: `Deploy queue of ${serviceKey(cluster, service)} (${region})`,
  });
  let answer: QueueAnswer;
  try {
    answer = await client.workflow.executeUpdateWithStart(requestUpdate, { args: [request], startWorkflowOperation });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const verb = request.kind === 'rollback' ? 'roll back' : 'deploy';
      throw new Error(`failed to ${verb} ${serviceKey(cluster, service)}: ${err.cause?.message ?? err.message}`);
    }
    throw err;
  }
  return {
    handle: client.workflow.getHandle<typeof deploy>(answer.workflowId, answer.runId),
    mode: answer.mode,
    runId: answer.runId,
    seq: answer.seq,
    superseding: answer.superseding,
  };
}

export interface ServiceRef {
  region: string;
  cluster: string;
  service: string;
}

/** What the service's queue knows: deploys running, and the ledger of finished ones. */
export async function queueView(client: Client, target: ServiceRef): Promise<QueueView> {
  return await client.workflow.getHandle(queueWorkflowId(target)).query(queueQuery);
}

/** The service's queue, or an empty one when no deploy of the service was ever requested. */
export async function serviceHistory(client: Client, target: ServiceRef): Promise<QueueView> {
  try {
    return await queueView(client, target);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    return { service: serviceKey(target.cluster, target.service), seq: 0, running: [], ledger: [] };
  }
}

/** A deploy started elsewhere, to follow: fails clearly when the id names no deploy. */
export async function deployHandle(
  client: Client,
  workflowId: string,
): Promise<{ handle: WorkflowHandle<typeof deploy>; runId: string }> {
  try {
    const described = await client.workflow.getHandle<typeof deploy>(workflowId).describe();
    if (described.type !== WORKFLOW_TYPE)
      throw new Error(`failed to follow ${workflowId}: it is a ${described.type} workflow, not a deploy`);
    return { handle: client.workflow.getHandle<typeof deploy>(workflowId, described.runId), runId: described.runId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(`failed to follow ${workflowId}: no such deploy (see deployctl list)`);
    throw err;
  }
}

export interface DeployListing {
  workflowId: string;
  runId: string;
  status: string;
  stage?: string;
  sha?: string;
  service?: string;
  startTime: Date;
  closeTime?: Date;
}

export async function listDeploys(opts: {
  client: Client;
  cluster?: string;
  service?: string;
  runningOnly?: boolean;
  limit?: number;
}): Promise<DeployListing[]> {
  const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`];
  if (opts.cluster && opts.service)
    clauses.push(`${SEARCH_ATTRIBUTES.service} = '${serviceKey(opts.cluster, opts.service)}'`);
  if (opts.runningOnly) clauses.push(`ExecutionStatus = 'Running'`);
  const out: DeployListing[] = [];
  for await (const wf of opts.client.workflow.list({ query: clauses.join(' AND ') })) {
    const attrs = wf.searchAttributes;
    const first = (name: string): string | undefined => {
      const v = attrs[name];
      return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
    };
    const listing: DeployListing = {
      workflowId: wf.workflowId,
      runId: wf.runId,
      status: wf.status.name,
      startTime: wf.startTime,
    };
    const deployStatus = first(SEARCH_ATTRIBUTES.status);
    if (deployStatus) listing.status = deployStatus;
    const stage = first(SEARCH_ATTRIBUTES.stage);
    if (stage) listing.stage = stage;
    const sha = first(SEARCH_ATTRIBUTES.sha);
    if (sha) listing.sha = sha;
    const service = first(SEARCH_ATTRIBUTES.service);
    if (service) listing.service = service;
    if (wf.closeTime) listing.closeTime = wf.closeTime;
    out.push(listing);
    if (out.length >= (opts.limit ?? 20)) break;
  }
  return out;
}

/** The result of a finished deploy, or one shaped like it from the progress of a running one. */
export async function deployStatus(client: Client, workflowId: string): Promise<DeployResult> {
  const handle = client.workflow.getHandle<typeof deploy>(workflowId);
  const described = await handle.describe().catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(`failed to read ${workflowId}: no such deploy (see deployctl list)`);
    throw err;
  });
  if (described.status.name === 'COMPLETED') return await handle.result();
  if (described.status.name !== 'RUNNING') {
    // Failed (a failed rollback), terminated or timed out: result() throws with the reason.
    return await handle.result();
  }
  const p = await handle.query(progressQuery);
  return progressAsResult(p, workflowId, described.runId);
}

export function progressAsResult(p: DeployProgress, workflowId: string, runId: string): DeployResult {
  if (p.result) return p.result;
  const out: DeployResult = {
    status: p.status as FinalStatus,
    sha: p.sha,
    workflowId,
    runId,
    service: p.service,
    cluster: p.cluster,
    stages: p.stages,
    approval: p.approval,
    ...knownArtifacts(p),
  };
  return out;
}

/**
 * Approves through the update, so a refusal (a token refused, an identity not allowed, the requester themself, a
 * deploy not waiting or finished) comes back as a clear error. `token` proves who approves; `by` counts only for
 * services whose policy takes approvals by name.
 */
export async function approveDeploy(opts: {
  client: Client;
  workflowId: string;
  token?: string | undefined;
  by?: string | undefined;
  comment?: string | undefined;
  /** reject: a person says no; before the update the deploy fails, at a lifecycle hook ECS rolls back. */
  decision?: 'approve' | 'reject';
}): Promise<ApprovalView> {
  const handle = opts.client.workflow.getHandle(opts.workflowId);
  const verb = opts.decision ?? 'approve';
  try {
    return await handle.executeUpdate(verb === 'reject' ? rejectUpdate : approveUpdate, {
      args: [
        {
          ...(opts.token ? { token: opts.token } : {}),
          ...(opts.by ? { by: opts.by } : {}),
          ...(opts.comment ? { comment: opts.comment } : {}),
        },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new Error(`failed to ${verb} ${opts.workflowId}: ${err.cause?.message ?? err.message}`);
    throw await notRunningError(opts.client, opts.workflowId, verb, err);
  }
}

export async function cancelDeploy(opts: {
  client: Client;
  workflowId: string;
  by: string;
  reason: string;
}): Promise<void> {
  try {
    await opts.client.workflow.getHandle(opts.workflowId).signal(cancelSignal, { by: opts.by, reason: opts.reason });
  } catch (err) {
    throw await notRunningError(opts.client, opts.workflowId, 'cancel', err);
  }
}

/** Turns "workflow not found / already completed" into what happened to the deploy; other errors pass through. */
async function notRunningError(client: Client, workflowId: string, verb: string, err: unknown): Promise<unknown> {
  if (!(err instanceof WorkflowNotFoundError)) return err;
  try {
    const described = await client.workflow.getHandle<typeof deploy>(workflowId).describe();
    if (described.status.name === 'COMPLETED') {
      const result = await client.workflow.getHandle<typeof deploy>(workflowId).result();
      return new Error(
        `failed to ${verb} ${workflowId}: the deploy has finished (${result.status}); nothing to ${verb}`,
      );
    }
    return new Error(`failed to ${verb} ${workflowId}: the deploy is ${described.status.name.toLowerCase()}`);
  } catch (describeErr) {
    if (describeErr instanceof WorkflowNotFoundError)
      return new Error(`failed to ${verb} ${workflowId}: no such deploy (see deployctl list)`);
    return err;
  }
}
