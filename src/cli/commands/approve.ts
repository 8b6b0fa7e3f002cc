/** deployctl approve: let a deploy that waits for approval go on to update the service. */
import { Command } from 'commander';
import { approveDeploy } from '../../client/deploys.js';
import { validatePerson, validateWorkflowId } from '../../shared/validate.js';
import { JSON_HELP, type CliContext } from '../context.js';
import { EXIT } from '../exit.js';

export function approveCommand(ctx: CliContext): Command {
  return new Command('approve')
    .summary('approve a deploy that waits for approval')
    .description(
      'Approves a deploy waiting at its approval gate. Refused (exit 1, with the reason) when the approver is not allowed, or the deploy is not waiting, already decided or finished.',
    )
    .argument('<workflowId>', 'the deploy, e.g. deploy.prod.web.<sha>.7')
    .requiredOption('--by <name>', "who approves (must be on the deploy's approver list, when it has one)")
    .option('--comment <text>', 'why, for the record')
    .option('--json', JSON_HELP)
    .action(async (id: string, flags: { by: string; comment?: string; json?: boolean }) => {
      const workflowId = validateWorkflowId(id, 'workflowId');
      const by = validatePerson(flags.by, '--by');
      const approval = await approveDeploy({
        client: await ctx.client(),
        workflowId,
        by,
        ...(flags.comment ? { comment: flags.comment } : {}),
      });
      ctx.err(`${workflowId}: approved by ${approval.by ?? by}`);
      if (flags.json) ctx.out(JSON.stringify({ workflowId, approval }));
      ctx.exitCode = EXIT.ok;
    });
}
