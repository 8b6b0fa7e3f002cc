/** Printing a deploy's result for people (stderr) and for machines (--json on stdout). */
import type { ConnectionSettings } from '../shared/connection.js';
import { safeOutput, secretValues } from '../shared/output.js';
import type { DeployResult } from '../shared/types.js';
import { fmtMs } from '../client/watch.js';

/** The run's page in the Temporal UI. TEMPORAL_UI_URL points at the UI (e.g. http://localhost:8233). */
export function uiLink(settings: ConnectionSettings, workflowId: string, runId?: string): string {
  const base = (process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233').replace(/\/$/, '');
  const run = runId ? `/${runId}` : '';
  return `${base}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}${run}/history`;
}

/** Prints the result; returns the exit code: 0 only when the service is stable on the new image. */
export function printResult(
  result: DeployResult,
  opts: { json: boolean; settings: ConnectionSettings; running?: boolean },
): number {
  // The result carries text from the deployed code (test output): in a CI log, a line of it must not become a
  // runner command, and no credential this process holds may appear.
  const secrets = secretValues(process.env);
  const err = (line: string): void => void process.stderr.write(`${safeOutput(line, { secrets })}\n`);
  const where = `${result.cluster}/${result.service}`;
  err(`${where} result: ${result.status}${result.error ? ` at ${result.error.stage}: ${result.error.message}` : ''}`);
  if (result.note) err(`${where} note: ${result.note}`);
  if (result.imageRef) err(`${where} image: ${result.imageRef}${result.imageDigest ? `@${result.imageDigest}` : ''}`);
  if (result.reused?.image) err(`${where} reused the image built and tested by ${result.reused.image.fromWorkflowId}`);
  if (result.reused?.taskDefinitionArn) err(`${where} reused the revision ${result.reused.taskDefinitionArn}`);
  if (result.taskDefinitionArn) err(`${where} task definition: ${result.taskDefinitionArn}`);
  if (result.rollback) err(`${where} rolled back to ${result.rollback.restoredTaskDefinitionArn}`);
  const o = result.observed;
  if (o) {
    const image = o.images.map((i) => `${i.container}=${i.digest ?? i.image}`).join(', ');
    err(
      `${where} ECS at ${o.readAt}: PRIMARY ${o.deploymentId ?? '?'} on ${o.taskDefinitionArn} (${image}), ${o.running}/${o.desired} running${o.stable ? ', stable' : ''}`,
    );
  }
  if (result.endedBy) err(`${where} ended by ${result.endedBy.by}: ${result.endedBy.reason}`);
  const approval = result.approval;
  if (approval?.required) {
    const who = approval.by ? ` by ${approval.by}${approval.proof ? ` (${approval.proof})` : ''}` : '';
    err(`${where} approval: ${approval.state}${who}${approval.comment ? ` (${approval.comment})` : ''}`);
    if (approval.requester) err(`${where} requested by: ${approval.requester.id} (${approval.requester.proof})`);
    if (approval.state === 'pending') for (const line of approval.diff ?? []) err(`${where} would change: ${line}`);
  }
  const total = result.stages.reduce((n, s) => n + (s.durationMs ?? 0), 0);
  err(
    `${where} stages: ${result.stages.map((s) => `${s.name} ${s.status}${s.durationMs !== undefined ? ` ${fmtMs(s.durationMs)}` : ''}`).join(', ')} (sum ${fmtMs(total)})`,
  );
  err(`${where} ui: ${uiLink(opts.settings, result.workflowId, result.runId)}`);
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.status === 'succeeded') return 0;
  return opts.running && !['failed', 'rolled_back', 'cancelled', 'superseded'].includes(result.status) ? 0 : 1;
}
