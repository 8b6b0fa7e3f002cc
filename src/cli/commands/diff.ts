/** deployctl diff: the task definition a deploy of a SHA would register, against what the service runs. */
import { Command } from 'commander';
import { renderTaskDefinition } from '../../client/render.js';
import type { RenderResult } from '../../shared/render.js';
import type { DeployTarget } from '../../shared/types.js';
import { safeOutput } from '../../shared/output.js';
import { validateSha } from '../../shared/validate.js';
import { ALL_TARGET_FIELDS, JSON_HELP, targetFlags, targetOptions, type CliContext } from '../context.js';
import { readTarget } from '../env.js';
import { EXIT } from '../exit.js';

/** Renders on the worker (which has the repository); registers nothing. */
export async function renderFor(
  ctx: CliContext,
  sha: string,
  target: DeployTarget,
  imageDigest?: string,
): Promise<RenderResult> {
  const where = `${target.cluster}/${target.service}`;
  ctx.err(`${where} rendering the task definition of ${sha.slice(0, 7)} on the worker (registers nothing)`);
  return await renderTaskDefinition({
    client: await ctx.client(),
    taskQueue: ctx.settings().taskQueue,
    sha,
    target,
    ...(imageDigest ? { imageDigest } : {}),
  });
}

/** The changes on stdout, one per line (or the JSON object); what they are against on stderr. */
export function printRender(ctx: CliContext, render: RenderResult, opts: { json: boolean; dryRun?: boolean }): void {
  const where = `${render.cluster}/${render.service}`;
  const image = render.imagePinned
    ? render.imageRef
    : `${render.imageRef} (not in the registry yet: a deploy builds it and pins the digest it pushes)`;
  ctx.err(`${where} template: ${render.template}`);
  ctx.err(`${where} image: ${image}`);
  const count = render.diff.length;
  ctx.err(
    `${where} against ${render.currentTaskDefinitionArn}: ${count === 0 ? 'no change' : `${count} change${count === 1 ? '' : 's'}`}`,
  );
  if (opts.dryRun) ctx.err(`${where} dry run: nothing was requested, registered or changed`);
  // The changes quote the template in the repository at the SHA: in a CI log, none may become a runner command.
  const secrets = ctx.secrets();
  if (opts.json) ctx.out(JSON.stringify(opts.dryRun ? { dryRun: true, ...render } : render));
  else for (const line of render.diff) ctx.out(safeOutput(line, { secrets }));
}

export function diffCommand(ctx: CliContext): Command {
  const command = new Command('diff')
    .summary('show what a deploy of a commit would change, registering nothing')
    .description(
      "Renders the task definition a deploy of the SHA would register (the template at that commit, the SHA's image) and prints what changes against the revision the service runs, one line per changed value. Reads only: nothing is registered, ECS is not touched.",
    )
    .requiredOption('--sha <sha>', 'the full 40-character commit SHA')
    .option('--json', JSON_HELP);
  targetOptions(command, ALL_TARGET_FIELDS).action(
    async (flags: { sha: string; json?: boolean } & Parameters<typeof targetFlags>[0]) => {
      const sha = validateSha(flags.sha, '--sha');
      const target = readTarget(ctx.target(targetFlags(flags)));
      printRender(ctx, await renderFor(ctx, sha, target), { json: flags.json ?? false });
      ctx.exitCode = EXIT.ok;
    },
  );
  return command;
}
