/**
 * deployctl approve and deployctl reject: a person's decision on a deploy that waits for one, before the update or at
 * an ECS PAUSE lifecycle hook. Both prove who decides with an ID token (or a name, for namespace-mode services).
 */
import { Command, Option } from 'commander';
import { approveDeploy } from '../../client/deploys.js';
import { approvalToken } from '../identity.js';
import { ValidationError, validatePerson, validateWorkflowId } from '../../shared/validate.js';
import { JSON_HELP, type CliContext } from '../context.js';
import { EXIT } from '../exit.js';

interface ApproveFlags {
  token?: string;
  tokenFile?: string;
  by?: string;
  comment?: string;
  json?: boolean;
}

const WORDS = {
  approve: {
    summary: 'approve a deploy that waits for approval, with your ID token',
    what: 'Approves a deploy waiting at its approval gate (before the update, or at an ECS PAUSE lifecycle hook, where ECS then goes on).',
    refusedAlso: ', the approver requested the deploy themself (four eyes)',
    done: 'approved',
  },
  reject: {
    summary: 'reject a deploy that waits for approval, with your ID token',
    what: 'Rejects a deploy waiting at its approval gate: before the update it ends failed with nothing changed; at an ECS PAUSE lifecycle hook ECS rolls back there and it ends rolled_back.',
    refusedAlso: '',
    done: 'rejected',
  },
} as const;

export function approveCommand(ctx: CliContext): Command {
  return decisionCommand(ctx, 'approve');
}

export function rejectCommand(ctx: CliContext): Command {
  return decisionCommand(ctx, 'reject');
}

function decisionCommand(ctx: CliContext, decision: 'approve' | 'reject'): Command {
  const words = WORDS[decision];
  return new Command(decision)
    .summary(words.summary)
    .description(
      `${words.what} Who decides is proven by an OIDC ID token the worker verifies: --token-file, --token, else $DEPLOY_APPROVAL_TOKEN, else (in a GitHub Actions job with id-token: write) the job's own ID token for $DEPLOY_OIDC_AUDIENCE. Refused (exit 1, with the reason) when the token or the identity is not accepted${words.refusedAlso}, or the deploy is not waiting, already decided or finished.`,
    )
    .argument('<workflowId>', 'the deploy, e.g. deploy.prod.web.<sha>.7')
    .addOption(
      new Option(
        '--token-file <path>',
        "a file holding the approver's ID token (the token is never printed)",
      ).conflicts('token'),
    )
    .option(
      '--token <jwt>',
      "the approver's ID token itself (visible to other users in the process list; prefer --token-file)",
    )
    .option(
      '--by <name>',
      'who approves, unproven: counts only for services whose approval policy takes approvals by name',
    )
    .option('--comment <text>', 'why, for the record')
    .option('--json', JSON_HELP)
    .action(async (id: string, flags: ApproveFlags) => {
      const workflowId = validateWorkflowId(id, 'workflowId');
      const by = flags.by !== undefined ? validatePerson(flags.by, '--by') : undefined;
      const token = await approvalToken({
        token: flags.token,
        tokenFile: flags.tokenFile,
        env: ctx.env,
        note: (line) => ctx.err(`deployctl: ${line}`),
      });
      if (!token && !by)
        throw new ValidationError(
          '--token-file',
          `${decision} needs the approver's ID token: pass --token-file <path> or --token <jwt>, or set DEPLOY_APPROVAL_TOKEN (--by <name> only for services whose policy takes approvals by name)`,
        );
      const approval = await approveDeploy({
        client: await ctx.client(),
        workflowId,
        token,
        by,
        comment: flags.comment,
        decision,
      });
      const proof = approval.proof ? ` (${approval.proof})` : '';
      ctx.err(`${workflowId}: ${words.done} by ${approval.by ?? by ?? '?'}${proof}`);
      if (flags.json) ctx.out(JSON.stringify({ workflowId, approval }));
      ctx.exitCode = EXIT.ok;
    });
}
