/** deployctl rollback: put the service back on its last known-good deploy (or a named SHA), without building. */
import { Command } from 'commander';
import { validateSha } from '../../shared/validate.js';
import type { QueueRequest } from '../../workflows/messages.js';
import { targetFlags, type CliContext } from '../context.js';
import { readTarget } from '../env.js';
import { requester } from '../follow.js';
import { optionsFrom, requestOptions, sendRequest, type RequestFlags } from './deploy.js';

export function rollbackCommand(ctx: CliContext): Command {
  const command = new Command('rollback')
    .summary('go back to the last known-good deploy, without building')
    .description(
      "Asks the service's queue for a rollback: the newest successful deploy before the current one (or the newest successful deploy of --to), put back as it was. Refused when nothing good is recorded to go back to.",
    )
    .option('--to <sha>', 'roll back to the newest successful deploy of this 40-character SHA');
  requestOptions(command).action(async (flags: RequestFlags & { to?: string }) => {
    const toSha = flags.to !== undefined ? validateSha(flags.to, '--to') : undefined;
    const target = readTarget(ctx.target(targetFlags(flags)));
    const request: QueueRequest = {
      kind: 'rollback',
      ...(toSha ? { toSha } : {}),
      target,
      options: optionsFrom(ctx, flags),
      ...(await requester(ctx.env, (line) => ctx.err(`deployctl: ${line}`))),
    };
    ctx.exitCode = await sendRequest(ctx, request, flags);
  });
  return command;
}
