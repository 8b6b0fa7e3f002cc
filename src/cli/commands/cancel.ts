/** deployctl cancel: stop a deploy; one that already updated the service puts the previous revision back. */
import { Command } from 'commander';
import { cancelDeploy } from '../../client/deploys.js';
import { ValidationError, validatePerson, validateWorkflowId } from '../../shared/validate.js';
import { JSON_HELP, type CliContext } from '../context.js';
import { EXIT } from '../exit.js';

export function cancelCommand(ctx: CliContext): Command {
  return new Command('cancel')
    .summary('cancel a deploy; it compensates and ends cancelled')
    .description(
      'Sends the cancel signal. Before the update, ECS is not changed; after it, the service is put back on the revision it ran before, and the deploy ends cancelled once that is stable (deployctl wait <id> follows it).',
    )
    .argument('<workflowId>', 'the deploy, e.g. deploy.prod.web.<sha>.7')
    .requiredOption('--by <name>', 'who cancels')
    .requiredOption('--reason <text>', 'why, for the record')
    .option('--json', JSON_HELP)
    .action(async (id: string, flags: { by: string; reason: string; json?: boolean }) => {
      const workflowId = validateWorkflowId(id, 'workflowId');
      const by = validatePerson(flags.by, '--by');
      const reason = flags.reason.trim();
      if (!reason) throw new ValidationError('--reason', 'say why the deploy is cancelled');
      await cancelDeploy({ client: await ctx.client(), workflowId, by, reason });
      ctx.err(`${workflowId}: cancel sent; the deploy compensates and ends cancelled (deployctl wait ${workflowId})`);
      if (flags.json) ctx.out(JSON.stringify({ workflowId, cancel: { by, reason }, sent: true }));
      ctx.exitCode = EXIT.ok;
    });
}
