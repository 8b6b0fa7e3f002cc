/** Printing a deploy's result for people and for machines (--json on stdout), and links to the Temporal UI. */
import { safeOutput, secretValues } from '../shared/output.js';
import type { DeployResult } from '../shared/types.js';
import { resultExitCode } from './exit.js';
import { fmtMs } from './progress.js';

/** Where the Temporal UI is (TEMPORAL_UI_URL, e.g. http://localhost:8233) and which namespace its links open. */
export interface UiSettings {
  uiUrl: string;
  namespace: string;
}

export const DEFAULT_UI_URL = 'http://localhost:8233';

/** The run's page in the Temporal UI. */
export function uiLink(ui: UiSettings, workflowId: string, runId?: string): string {
  const base = ui.uiUrl.replace(/\/$/, '');
  const run = runId ? `/${runId}` : '';
  return `${base}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}${run}/history`;
}

/**
 * The lines a person reads about a result, each prefixed with cluster/service. The result carries text from the
 * deployed code (test output): in a CI log, a line of it must not become a runner command, and none of `secrets`
 * (the credentials the printing process holds) may appear.
 */
export function resultLines(result: DeployResult, ui: UiSettings, secrets: readonly string[] = []): string[] {
  const lines: string[] = [];
  const where = `${result.cluster}/${result.service}`;
  const say = (text: string): void => void lines.push(safeOutput(`${where} ${text}`, { secrets }));
  say(`result: ${result.status}${result.error ? ` at ${result.error.stage}: ${result.error.message}` : ''}`);
  if (result.note) say(`note: ${result.note}`);
  if (result.imageRef) say(`image: ${result.imageRef}${result.imageDigest ? `@${result.imageDigest}` : ''}`);
  if (result.reused?.image) say(`reused the image built and tested by ${result.reused.image.fromWorkflowId}`);
  if (result.reused?.taskDefinitionArn) say(`reused the revision ${result.reused.taskDefinitionArn}`);
  if (result.taskDefinitionArn) say(`task definition: ${result.taskDefinitionArn}`);
  if (result.rollback) say(`rolled back to ${result.rollback.restoredTaskDefinitionArn}`);
  const o = result.observed;
  if (o) {
    const image = o.images.map((i) => `${i.container}=${i.digest ?? i.image}`).join(', ');
    say(
      `ECS at ${o.readAt}: PRIMARY ${o.deploymentId ?? '?'} on ${o.taskDefinitionArn} (${image}), ${o.running}/${o.desired} running${o.stable ? ', stable' : ''}`,
    );
  }
  if (result.endedBy) say(`ended by ${result.endedBy.by}: ${result.endedBy.reason}`);
  const approval = result.approval;
  if (approval?.required) {
    const who = approval.by ? ` by ${approval.by}${approval.proof ? ` (${approval.proof})` : ''}` : '';
    say(`approval: ${approval.state}${who}${approval.comment ? ` (${approval.comment})` : ''}`);
    if (approval.requester) say(`requested by: ${approval.requester.id} (${approval.requester.proof})`);
    if (approval.state === 'pending') for (const line of approval.diff ?? []) say(`would change: ${line}`);
  }
  const total = result.stages.reduce((n, s) => n + (s.durationMs ?? 0), 0);
  say(
    `stages: ${result.stages.map((s) => `${s.name} ${s.status}${s.durationMs !== undefined ? ` ${fmtMs(s.durationMs)}` : ''}`).join(', ')} (sum ${fmtMs(total)})`,
  );
  say(`ui: ${uiLink(ui, result.workflowId, result.runId)}`);
  return lines;
}

/**
 * Prints the result and returns the exit code. The human lines go to `human` (stderr beside progress, or stdout for
 * `status`); with `json`, the result object goes to stdout and the human lines to stderr.
 */
export function printResult(
  result: DeployResult,
  opts: { json: boolean; ui: UiSettings; human?: 'stdout' | 'stderr'; running?: boolean },
): number {
  const human = opts.json ? process.stderr : opts.human === 'stdout' ? process.stdout : process.stderr;
  for (const line of resultLines(result, opts.ui, secretValues(process.env))) human.write(`${line}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return resultExitCode(result, { running: opts.running ?? false });
}
