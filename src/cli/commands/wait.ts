/** deployctl wait: follow a deploy started elsewhere, with the progress lines and exit code of deploy --wait. */
import { Command } from 'commander';
import { deployHandle } from '../../client/deploys.js';
import { validateWorkflowId } from '../../shared/validate.js';
import { JSON_HELP, type CliContext } from '../context.js';
import { followWithProgress } from '../follow.js';
import { writeGithubFiles } from '../github.js';
import { printResult, uiLink } from '../output.js';

export function waitCommand(ctx: CliContext): Command {
  return new Command('wait')
    .summary('follow a deploy started elsewhere until it ends')
    .description(
      "Follows a running deploy (or reports a finished one) with the same progress lines and exit code as deploy --wait. Stopping it (Ctrl-C) stops watching only: it does not cancel someone else's deploy; deployctl cancel does.",
    )
    .argument('<workflowId>', 'the deploy, e.g. deploy.prod.web.<sha>.7')
    .option('--json', JSON_HELP)
    .option('--github-summary', 'write the job summary and step outputs ($GITHUB_STEP_SUMMARY, $GITHUB_OUTPUT)')
    .action(async (id: string, flags: { json?: boolean; githubSummary?: boolean }) => {
      const workflowId = validateWorkflowId(id, 'workflowId');
      const client = await ctx.client();
      const ui = ctx.ui();
      const { handle, runId } = await deployHandle(client, workflowId);
      ctx.err(`${workflowId} watch: ${uiLink(ui, workflowId, runId)}`);
      const result = await followWithProgress({ client, handle, log: ctx.err, secrets: ctx.secrets() });
      if (flags.githubSummary) writeGithubFiles(result, uiLink(ui, workflowId, result.runId), ctx.env);
      ctx.exitCode = printResult(result, { json: flags.json ?? false, ui });
    });
}
