/** What deployctl does with Temporal: start (superseding, idempotent), watch, approve, cancel, list. */
import { knownArtifacts } from '../shared/artifacts.js';
import {
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPE, deployWorkflowId } from '../shared/names.js';
import type { ApprovalView, DeployInput, DeployProgress, DeployResult, FinalStatus } from '../shared/types.js';
import { approveUpdate, cancelSignal, progressQuery } from '../workflows/messages.js';
import type { deploy } from '../workflows/deploy.js';

export interface StartedDeploy {
  handle: WorkflowHandle<typeof deploy>;
  /** started: a new run; attached: the same SHA was already deploying; reported: it already succeeded. */
  mode: 'started' | 'attached' | 'reported';
  runId: string;
  superseding: string[];
}

const saService = defineSearchAttributeKey(SEARCH_ATTRIBUTES.service, SearchAttributeType.KEYWORD);
const saSha = defineSearchAttributeKey(SEARCH_ATTRIBUTES.sha, SearchAttributeType.KEYWORD);

export function serviceKey(cluster: string, service: string): string {
  return `${cluster}/${service}`;
}

/**
 * Starts a deploy. The same SHA for the same service attaches to the running deploy, or reports the one that
 * already succeeded, instead of building again. Running deploys of other SHAs for the service are superseded.
 */
export async function startDeploy(opts: {
  client: Client;
  taskQueue: string;
  input: DeployInput;
}): Promise<StartedDeploy> {
  const { client, taskQueue, input } = opts;
  const { cluster, service } = input.target;
  const workflowId = deployWorkflowId(cluster, service, input.sha);
  const existing = client.workflow.getHandle<typeof deploy>(workflowId);
  try {
    const described = await existing.describe();
    const runId = described.runId;
    if (described.status.name === 'RUNNING') return { handle: existing, mode: 'attached', runId, superseding: [] };
    if (described.status.name === 'COMPLETED') {
      const previous = await existing.result();
      if (previous.status === 'succeeded' && previous.sha === input.sha)
        return { handle: existing, mode: 'reported', runId, superseding: [] };
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const superseding = (await listDeploys({ client, cluster, service, runningOnly: true }))
    .map((d) => d.workflowId)
    .filter((id) => id !== workflowId);
  const handle = await client.workflow.start<typeof deploy>(WORKFLOW_TYPE, {
    taskQueue,
    workflowId,
    args: [{ ...input, supersedes: superseding }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [
      { key: saService, value: serviceKey(cluster, service) },
      { key: saSha, value: input.sha },
    ],
    staticSummary: `Deploy ${input.sha.slice(0, 7)} to ${serviceKey(cluster, service)}`,
    staticDetails: [
      `sha: \`${input.sha}\``,
      `image: ${input.target.repository}:${input.sha}`,
      `container: ${input.target.containerName}`,
      `task definition: ${input.target.taskDefinitionPath ?? "the service's current one"}`,
      `requested by: ${input.requestedBy ?? 'unknown'}`,
    ]
      .map((line) => `- ${line}`)
      .join('\n'),
  });
  return { handle, mode: 'started', runId: handle.firstExecutionRunId, superseding };
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
  const described = await handle.describe();
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

/** Approves through the update, so a refusal (allow-list, not waiting, finished) comes back as a clear error. */
export async function approveDeploy(opts: {
  client: Client;
  workflowId: string;
  by: string;
  comment?: string;
}): Promise<ApprovalView> {
  const handle = opts.client.workflow.getHandle(opts.workflowId);
  try {
    return await handle.executeUpdate(approveUpdate, {
      args: [{ by: opts.by, ...(opts.comment ? { comment: opts.comment } : {}) }],
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new Error(`failed to approve ${opts.workflowId}: ${err.cause?.message ?? err.message}`);
    throw await notRunningError(opts.client, opts.workflowId, 'approve', err);
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
