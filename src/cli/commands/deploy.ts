/** deployctl deploy: request a deploy of a SHA from the service's queue; with --wait, follow it to its end. */
import { Command } from 'commander';
import type { DeployOptions } from '../../shared/types.js';
import { validateDigest, validateSha } from '../../shared/validate.js';
import type { QueueRequest } from '../../workflows/messages.js';
import { ALL_TARGET_FIELDS, JSON_HELP, targetFlags, targetOptions, type CliContext } from '../context.js';
import { parseDuration } from '../../shared/duration.js';
import { readOptions, readTarget } from '../env.js';
import { EXIT } from '../exit.js';
import { followWithProgress, requestAndReport, requester } from '../follow.js';
import { writeGithubFiles } from '../github.js';
import { printResult, uiLink } from '../output.js';
import { printRender, renderFor } from './diff.js';

/** The flags deploy and rollback share. */
export interface RequestFlags {
  wait?: boolean;
  json?: boolean;
  githubSummary?: boolean;
  requireApproval?: boolean;
  approvalTimeout?: string;
  stableTimeout?: string;
  region?: string;
  cluster?: string;
  service?: string;
  repository?: string;
  containerName?: string;
  taskDefinition?: string;
  recipe?: string;
}

/** Adds the flags deploy and rollback share. */
export function requestOptions(command: Command): Command {
  command
    .option('--wait', 'follow the deploy to its end; the exit code says how it ended')
    .option('--json', JSON_HELP)
    .option(
      '--github-summary',
      'with --wait: write the job summary and step outputs ($GITHUB_STEP_SUMMARY, $GITHUB_OUTPUT)',
    )
    .option(
      '--require-approval',
      'wait for an approval before the service is updated (default: $DEPLOY_REQUIRE_APPROVAL)',
    )
    .option(
      '--approval-timeout <duration>',
      'how long to wait for an approval, e.g. 90s, 15m, 1h (default: $DEPLOY_APPROVAL_TIMEOUT, else 1h)',
    )
    .option(
      '--stable-timeout <duration>',
      'how long the rollout may take to become stable (default: $DEPLOY_STABLE_TIMEOUT, else 15m)',
    );
  return targetOptions(command, ALL_TARGET_FIELDS);
}

/** The deploy options: flags, then the per-target variables. */
export function optionsFrom(ctx: CliContext, flags: RequestFlags): DeployOptions {
  const given: DeployOptions = {};
  if (flags.requireApproval !== undefined) given.requireApproval = flags.requireApproval;
  if (flags.approvalTimeout !== undefined)
    given.approvalTimeoutMs = parseDuration(flags.approvalTimeout, '--approval-timeout');
  if (flags.stableTimeout !== undefined) given.stableTimeoutMs = parseDuration(flags.stableTimeout, '--stable-timeout');
  return readOptions(ctx.env, given);
}

/** Sends the request; with --wait, follows it and returns how it ended, as an exit code. */
export async function sendRequest(ctx: CliContext, request: QueueRequest, flags: RequestFlags): Promise<number> {
  const client = await ctx.client();
  const ui = ctx.ui();
  const started = await requestAndReport({ client, taskQueue: ctx.settings().taskQueue, request, ui, log: ctx.err });
  const { workflowId } = started.handle;
  if (!flags.wait) {
    const sha = request.kind === 'deploy' ? request.sha : request.toSha;
    if (flags.json) ctx.out(JSON.stringify({ workflowId, runId: started.runId, status: 'queued', sha }));
    return EXIT.ok;
  }
  const result = await followWithProgress({
    client,
    handle: started.handle,
    log: ctx.err,
    secrets: ctx.secrets(),
    cancelOnStop: {
      where: `${request.target.cluster}/${request.target.service}`,
      by: 'deployctl',
      reason: (signal) => `${signal} received by the waiting job`,
    },
  });
  if (flags.githubSummary) writeGithubFiles(result, uiLink(ui, workflowId, result.runId), ctx.env);
  return printResult(result, { json: flags.json ?? false, ui });
}

export function deployCommand(ctx: CliContext): Command {
  const command = new Command('deploy')
    .summary('build, test and roll out a commit')
    .description(
      "Asks the service's queue to deploy a commit: the worker builds and tests it, pushes the image, registers a task definition, updates the service and waits until ECS says it is stable. Anything that fails after the update is rolled back.",
    )
    .requiredOption('--sha <sha>', 'the full 40-character commit SHA to deploy')
    .option(
      '--image-digest <digest>',
      'deploy this image (sha256:<64 hex>), built elsewhere and already in the repository: checked, then registered and rolled out; no build, test or push',
    )
    .option('--dry-run', 'validate, render the task definition and show what would change; request nothing');
  requestOptions(command).action(
    async (flags: RequestFlags & { sha: string; imageDigest?: string; dryRun?: boolean }) => {
      const sha = validateSha(flags.sha, '--sha');
      const imageDigest =
        flags.imageDigest === undefined ? undefined : validateDigest(flags.imageDigest, '--image-digest');
      const target = readTarget(ctx.target(targetFlags(flags)));
      const options = optionsFrom(ctx, flags);
      if (flags.dryRun) {
        const render = await renderFor(ctx, sha, target, imageDigest);
        printRender(ctx, render, { json: flags.json ?? false, dryRun: true });
        ctx.exitCode = EXIT.ok;
        return;
      }
      const who = await requester(ctx.env, (line) => ctx.err(`deployctl: ${line}`));
      const request: QueueRequest = {
        kind: 'deploy',
        sha,
        ...(imageDigest ? { imageDigest } : {}),
        target,
        options,
        ...who,
      };
      ctx.exitCode = await sendRequest(ctx, request, flags);
    },
  );
  return command;
}
