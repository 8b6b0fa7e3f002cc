/** deployctl list: recent deploys from Temporal's visibility, for all services or one. */
import { Command, Option } from 'commander';
import { listDeploys } from '../../client/deploys.js';
import { ValidationError } from '../../shared/validate.js';
import type { CliContext } from '../context.js';
import { readServiceScope } from '../env.js';
import { EXIT } from '../exit.js';

/** A positive whole number from a flag. */
export function parseLimit(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 1000)
    throw new ValidationError('--limit', `"${text}" is not a whole number from 1 to 1000`);
  return n;
}

export function listCommand(ctx: CliContext): Command {
  return new Command('list')
    .summary('recent deploys: id, status, stage, SHA, start time')
    .description(
      "Lists recent deploys, newest first, one per line: workflow id, status, stage, SHA, start time (tab-separated). With --service, only that service's: it needs only the cluster and service, from the flags or $ECS_CLUSTER and $ECS_SERVICE.",
    )
    .addOption(
      new Option('--service [name]', "only this service's deploys (without a name: $ECS_SERVICE)").preset(true),
    )
    .option('--cluster <name>', 'the cluster of --service (default: $ECS_CLUSTER)')
    .option('--running', 'only deploys still running')
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'print the list as one JSON array on stdout')
    .action(
      async (flags: {
        service?: string | true;
        cluster?: string;
        running?: boolean;
        limit: string;
        json?: boolean;
      }) => {
        const limit = parseLimit(flags.limit);
        if (flags.cluster !== undefined && flags.service === undefined)
          throw new ValidationError('--cluster', 'only narrows --service; add --service [name]');
        const scope =
          flags.service === undefined
            ? undefined
            : readServiceScope(
                ctx.target({
                  ...(typeof flags.service === 'string' ? { service: flags.service } : {}),
                  ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}),
                }),
              );
        const rows = await listDeploys({
          client: await ctx.client(),
          ...(scope ?? {}),
          runningOnly: flags.running ?? false,
          limit,
        });
        if (flags.json) ctx.out(JSON.stringify(rows));
        else
          for (const r of rows)
            ctx.out(
              `${r.workflowId}\t${r.status}\t${r.stage ?? ''}\t${r.sha?.slice(0, 12) ?? ''}\t${r.startTime.toISOString()}`,
            );
        ctx.exitCode = EXIT.ok;
      },
    );
}
