/** The GitHub Actions job summary and step outputs of a deploy (the Action, and deployctl --github-summary). */
import { appendFileSync } from 'node:fs';
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

/** A table cell: no pipes or line breaks, which would break the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The Markdown appended to $GITHUB_STEP_SUMMARY. */
export function jobSummary(result: DeployResult, uiUrl: string): string {
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
  if (result.approval?.required)
    lines.push(`| Approval | ${result.approval.state}${result.approval.by ? ` by ${cell(result.approval.by)}` : ''} |`);
  lines.push(`| Temporal | [${result.workflowId}](${uiUrl}) |`, '', '### Stages', '');
  lines.push('| Stage | Status | Started (UTC) | Duration | Detail |', '| --- | --- | --- | --- | --- |');
  let total = 0;
  for (const s of result.stages) {
    total += s.durationMs ?? 0;
    const started = s.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
    const took = s.durationMs !== undefined ? fmtMs(s.durationMs) : '';
    lines.push(`| ${s.name} | ${s.status} | ${started} | ${took} | ${cell(s.detail ?? '')} |`);
  }
  lines.push(`| **sum** | | | ${fmtMs(total)} | |`);
  if (result.error) {
    const fence = fenceFor(result.error.message);
    lines.push('', `### Error at ${result.error.stage}`, '', fence + 'text', result.error.message, fence);
  }
  if (result.endedBy)
    lines.push('', `Ended by ${cell(result.endedBy.by)} at ${result.endedBy.at}: ${result.endedBy.reason}`);
  return `${lines.join('\n')}\n`;
}

/** The summary of a deploy that was requested but not waited for. */
export function queuedSummary(opts: { sha: string; where: string; workflowId: string; uiUrl: string }): string {
  return `## ⏳ Deploy ${opts.sha.slice(0, 7)} to ${opts.where}: requested\n\nFollow it in [${opts.workflowId}](${opts.uiUrl}), or with \`deployctl wait ${opts.workflowId}\`.\n`;
}

/** The summary when there is no result to show: bad settings, Temporal unreachable, or the job stopped waiting. */
export function noResultSummary(opts: { sha?: string; message: string }): string {
  const fence = fenceFor(opts.message);
  const what = opts.sha ? `Deploy ${opts.sha.slice(0, 7)}` : 'Deploy';
  return `## ❌ ${what}: no result\n\n${fence}text\n${opts.message}\n${fence}\n`;
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
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, jobSummary(result, uiUrl));
  if (env.GITHUB_OUTPUT) {
    const text = Object.entries(stepOutputs(result, uiUrl))
      .map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}\n`)
      .join('');
    appendFileSync(env.GITHUB_OUTPUT, text);
  }
}
