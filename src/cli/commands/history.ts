/** deployctl history: a service's deploys as its queue recorded them: outcome, SHA, image digest, who asked and approved. */
import { Command } from 'commander';
import { serviceHistory } from '../../client/deploys.js';
import { JSON_HELP, targetFlags, targetOptions, type CliContext } from '../context.js';
import { readServiceScope } from '../env.js';
import { EXIT } from '../exit.js';
import { parseLimit } from './list.js';

export function historyCommand(ctx: CliContext): Command {
  const command = new Command('history')
    .summary("a service's deploys: outcome, SHA, image digest, who requested and approved")
    .description(
      'Prints the deploys of one service as its queue recorded them, newest first, one per line (tab-separated): seq, status, kind, SHA, image digest, requested by, approved by, ended at, workflow id. Running deploys come first with status running. The queue keeps the last 50.',
    )
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', JSON_HELP);
  targetOptions(command, ['region', 'cluster', 'service']).action(
    async (flags: { limit: string; json?: boolean; region?: string; cluster?: string; service?: string }) => {
      const limit = parseLimit(flags.limit);
      const scope = readServiceScope(ctx.target(targetFlags(flags)), { region: true });
      const view = await serviceHistory(await ctx.client(), scope);
      const running = view.running.sort((a, b) => b.seq - a.seq).slice(0, limit);
      const finished = view.ledger.slice(0, Math.max(0, limit - running.length));
      if (flags.json) {
        ctx.out(JSON.stringify({ service: view.service, running, deploys: finished }));
      } else {
        for (const r of running)
          ctx.out([r.seq, 'running', r.kind, r.sha, '', r.requestedBy ?? '', '', '', r.workflowId].join('\t'));
        for (const e of finished)
          ctx.out(
            [
              e.seq,
              e.status,
              e.kind,
              e.sha,
              e.imageDigest ?? '',
              e.requestedBy ?? '',
              e.approvedBy ?? '',
              e.endedAt,
              e.workflowId,
            ].join('\t'),
          );
      }
      if (running.length + finished.length === 0)
        ctx.err(`${scope.cluster}/${scope.service}: no deploys recorded in ${scope.region}`);
      ctx.exitCode = EXIT.ok;
    },
  );
  return command;
}
