/** deployctl status: where a deploy stands, or how it ended; printed on stdout so it can be piped. */
import { Command } from 'commander';
import { deployStatus } from '../../client/deploys.js';
import { validateWorkflowId } from '../../shared/validate.js';
import { JSON_HELP, type CliContext } from '../context.js';
import { printResult } from '../output.js';

export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .summary("a deploy's status, stages, image and what would change")
    .description(
      'Prints where a deploy stands (stages so far, approval, what would change) or how it ended. Exit code 0 while it runs or when it succeeded, 1 when it ended otherwise.',
    )
    .argument('<workflowId>', 'the deploy, e.g. deploy.prod.web.<sha>.7 (deployctl list shows them)')
    .option('--json', `${JSON_HELP} (the human lines go to stderr)`)
    .action(async (id: string, flags: { json?: boolean }) => {
      const workflowId = validateWorkflowId(id, 'workflowId');
      const result = await deployStatus(await ctx.client(), workflowId);
      ctx.exitCode = printResult(result, { json: flags.json ?? false, ui: ctx.ui(), human: 'stdout', running: true });
    });
}
