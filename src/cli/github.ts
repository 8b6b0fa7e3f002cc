/** The GitHub Actions job summary and step outputs of a deploy (the Action, and deployctl --github-summary). */
import { appendFileSync } from 'node:fs';
import { OUTPUT_LIMITS, safeOutput, secretValues } from '../shared/output.js';
import type { DeployResult } from '../shared/types.js';
import { fmtMs } from './progress.js';

/** One line saying how the deploy ended, e.g. "failed at test" or "cancelled by alice: wrong commit". */
export function outcomeText(result: DeployResult): string {
  switch (result.status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return result.error ? `failed at ${result.error.stage}` : 'failed';
    case 'rolled_back':
      return `rolled back${result.error ? ` after failing at ${result.error.stage}` : ''}`;
    case 'cancelled':
    case 'superseded':
      return `${result.status}${result.endedBy ? ` by ${result.endedBy.by}: ${result.endedBy.reason}` : ''}`;
  }
}

const ICON: Record<DeployResult['status'], string> = {
  succeeded: '✅',
  failed: '❌',
  rolled_back: '↩️',
  cancelled: '⏹️',
  superseded: '⏭️',
};

/** A table cell: one capped line, no pipes or line breaks, which would break the row. */
function cell(text: string, secrets: readonly string[] = []): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return safeOutput(line, { secrets, totalBytes: OUTPUT_LIMITS.lineBytes + 64 }).replace(/\|/g, '\\|');
}

/**
 * The Markdown appended to $GITHUB_STEP_SUMMARY. Text that came from the deployed code (the error) is capped and
 * redacted of `secrets`.
 */
export function jobSummary(result: DeployResult, uiUrl: string, secrets: readonly string[] = []): string {
  const where = `${result.cluster}/${result.service}`;
  const lines = [
    `## ${ICON[result.status]} Deploy ${result.sha.slice(0, 7)} to ${where}: ${cell(outcomeText(result))}`,
    '',
    '| | |',
    '| --- | --- |',
    `| Status | **${result.status}** |`,
    `| Commit | \`${result.sha}\` |`,
  ];
  if (result.imageRef)
    lines.push(`| Image | \`${result.imageRef}${result.imageDigest ? `@${result.imageDigest}` : ''}\` |`);
  if (result.taskDefinitionArn) lines.push(`| Task definition | \`${result.taskDefinitionArn}\` |`);
  if (result.previousTaskDefinitionArn)
    lines.push(`| Previous task definition | \`${result.previousTaskDefinitionArn}\` |`);
  if (result.rollback) lines.push(`| Restored | \`${result.rollback.restoredTaskDefinitionArn}\` |`);
  const approval = result.approval;
  if (approval?.required) {
    const proof = approval.by && approval.proof ? ` (${approval.proof})` : '';
    lines.push(`| Approval | ${approval.state}${approval.by ? ` by ${cell(approval.by)}${proof}` : ''} |`);
    if (approval.requester)
      lines.push(`| Requested by | ${cell(approval.requester.id)} (${approval.requester.proof}) |`);
  }
  lines.push(`| Temporal | [${result.workflowId}](${uiUrl}) |`, '', '### Stages', '');
  lines.push('| Stage | Status | Started (UTC) | Duration | Detail |', '| --- | --- | --- | --- | --- |');
  let total = 0;
  for (const s of result.stages) {
    total += s.durationMs ?? 0;
    const started = s.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
    const took = s.durationMs !== undefined ? fmtMs(s.durationMs) : '';
    lines.push(`| ${s.name} | ${s.status} | ${started} | ${took} | ${cell(s.detail ?? '', secrets)} |`);
  }
  lines.push(`| **sum** | | | ${fmtMs(total)} | |`);
  if (result.error) {
    const message = safeOutput(result.error.message, { secrets });
    const fence = fenceFor(message);
    lines.push('', `### Error at ${result.error.stage}`, '', fence + 'text', message, fence);
  }
  if (result.endedBy)
    lines.push(
      '',
      `Ended by ${cell(result.endedBy.by)} at ${result.endedBy.at}: ${cell(result.endedBy.reason, secrets)}`,
    );
  return `${lines.join('\n')}\n`;
}

/** The summary of a deploy that was requested but not waited for. */
export function queuedSummary(opts: { sha: string; where: string; workflowId: string; uiUrl: string }): string {
  return `## ⏳ Deploy ${opts.sha.slice(0, 7)} to ${opts.where}: requested\n\nFollow it in [${opts.workflowId}](${opts.uiUrl}), or with \`deployctl wait ${opts.workflowId}\`.\n`;
}

/**
 * The summary when there is no result to show: bad settings, Temporal unreachable, or the job stopped waiting. The
 * message may quote the worker (a failed compensation), so it is capped and redacted like a result's error.
 */
export function noResultSummary(opts: { sha?: string; message: string; secrets?: readonly string[] }): string {
  const message = safeOutput(opts.message, { secrets: opts.secrets ?? [] });
  const fence = fenceFor(message);
  const what = opts.sha ? `Deploy ${opts.sha.slice(0, 7)}` : 'Deploy';
  return `## ❌ ${what}: no result\n\n${fence}text\n${message}\n${fence}\n`;
}

/** A code fence longer than any backtick run in the text, so the text stays one block. */
function fenceFor(text: string): string {
  return '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
}

/** The step's outputs, for later steps and jobs (steps.<id>.outputs.<name>). */
export function stepOutputs(result: DeployResult, uiUrl: string): Record<string, string> {
  return {
    status: result.status,
    sha: result.sha,
    'workflow-id': result.workflowId,
    'run-id': result.runId,
    image: result.imageRef ?? '',
    'image-digest': result.imageDigest ?? '',
    'task-definition-arn': result.taskDefinitionArn ?? '',
    'previous-task-definition-arn': result.previousTaskDefinitionArn ?? '',
    'failed-stage': result.error?.stage ?? '',
    'ui-url': uiUrl,
  };
}

/** Appends the summary and the outputs to the files GitHub names in the environment; a missing one is skipped. */
export function writeGithubFiles(result: DeployResult, uiUrl: string, env: Record<string, string | undefined>): void {
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, jobSummary(result, uiUrl, secretValues(env)));
  if (env.GITHUB_OUTPUT) {
    const text = Object.entries(stepOutputs(result, uiUrl))
      .map(([k, v]) => `${k}=${safeOutput(v.replace(/[\r\n]+/g, ' '), { totalBytes: OUTPUT_LIMITS.lineBytes + 64 })}\n`)
      .join('');
    appendFileSync(env.GITHUB_OUTPUT, text);
  }
}
