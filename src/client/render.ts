/** Asking the worker to render what a deploy of a SHA would register, and its diff against the service: reads only. */
import { TimeoutFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { RENDER_WORKFLOW_TYPE, type RenderResult } from '../shared/render.js';
import type { DeployTarget } from '../shared/types.js';
import type { renderTaskDefinition as renderWorkflow } from '../workflows/render.js';

export async function renderTaskDefinition(opts: {
  client: Client;
  taskQueue: string;
  sha: string;
  target: DeployTarget;
  imageDigest?: string;
}): Promise<RenderResult> {
  const { client, sha, target, imageDigest } = opts;
  const workflowId = `render.${target.cluster}.${target.service}.${sha}.${randomUUID().slice(0, 8)}`;
  try {
    return await client.workflow.execute<typeof renderWorkflow>(RENDER_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: opts.taskQueue,
      args: [{ sha, target, ...(imageDigest ? { imageDigest } : {}) }],
      // Without a worker nothing would ever answer; a render takes seconds.
      workflowExecutionTimeout: '5 minutes',
      staticSummary: `Render ${sha.slice(0, 7)} for ${target.cluster}/${target.service} (registers nothing)`,
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof TimeoutFailure) {
      throw new Error(
        `failed to render the task definition of ${sha.slice(0, 12)}: no worker answered within 5 minutes; is a worker polling ${opts.taskQueue}?`,
      );
    }
    if (err instanceof WorkflowFailedError) {
      const inner = err.cause?.cause;
      const cause = inner instanceof Error ? inner.message : (err.cause?.message ?? err.message);
      throw new Error(`failed to render the task definition of ${sha.slice(0, 12)}: ${cause}`);
    }
    throw err;
  }
}
