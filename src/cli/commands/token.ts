/** deployctl token: an ID token from the local stack's issuer, to approve or request as someone on that stack. */
import { Command } from 'commander';
import { mintLocalToken } from '../identity.js';
import { parseDuration } from '../../shared/duration.js';
import { ValidationError } from '../../shared/validate.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit.js';

export function tokenCommand(ctx: CliContext): Command {
  return new Command('token')
    .summary("mint an ID token on the local stack's issuer (local work and tests only)")
    .description(
      "Prints an OIDC ID token for --as, signed by the local stack's issuer ($DEPLOY_OIDC_ISSUER on 127.0.0.1, with the key in $DEPLOY_DEV_ISSUER_KEY_FILE; source .stack/env). Use it as DEPLOY_APPROVAL_TOKEN or DEPLOY_REQUESTER_TOKEN. Refused for any other issuer: elsewhere an approver proves who they are with their own identity provider's token.",
    )
    .requiredOption('--as <name>', 'the identity the token names (its sub claim)')
    .option('--audience <aud>', 'the aud claim (default: $DEPLOY_OIDC_AUDIENCE)')
    .option('--ttl <duration>', "how long the token is valid, e.g. 90s, 5m (default: the issuer's, 5m)")
    .option('--json', 'print {"token": …, "as": …} on stdout instead of the bare token')
    .action(async (flags: { as: string; audience?: string; ttl?: string; json?: boolean }) => {
      // The issuer checks the name's form; a GitHub-style subject (repo:acme/app:environment:prod) is fine.
      const as = flags.as.trim();
      if (!as) throw new ValidationError('--as', 'say whose token it is, e.g. --as alice');
      const token = await mintLocalToken({
        env: ctx.env,
        as,
        ...(flags.audience ? { audience: flags.audience } : {}),
        ...(flags.ttl !== undefined ? { ttlSeconds: parseDuration(flags.ttl, '--ttl') / 1000 } : {}),
      });
      ctx.out(flags.json ? JSON.stringify({ token, as }) : token);
      ctx.exitCode = EXIT.ok;
    });
}
