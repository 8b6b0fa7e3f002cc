/** deployctl's commands, flags and help, on commander. Parsing only: each command's work is in commands/. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { CliContext } from './context.js';
import { approveCommand, rejectCommand } from './commands/approve.js';
import { cancelCommand } from './commands/cancel.js';
import { deployCommand } from './commands/deploy.js';
import { diffCommand } from './commands/diff.js';
import { historyCommand } from './commands/history.js';
import { listCommand } from './commands/list.js';
import { rollbackCommand } from './commands/rollback.js';
import { statusCommand } from './commands/status.js';
import { tokenCommand } from './commands/token.js';
import { waitCommand } from './commands/wait.js';

/** From package.json, two levels up from both src/cli/ and dist/cli/. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const ENVIRONMENT = `
Environment:
  target     AWS_REGION ECR_REPOSITORY ECS_CLUSTER ECS_SERVICE CONTAINER_NAME [ECS_TASK_DEFINITION]
             (the flags of the same names win)
  options    DEPLOY_REQUIRE_APPROVAL DEPLOY_APPROVERS DEPLOY_APPROVAL_TIMEOUT DEPLOY_STABLE_TIMEOUT
  identity   DEPLOY_REQUESTER_TOKEN (deploy, rollback) and DEPLOY_APPROVAL_TOKEN (approve): OIDC ID tokens;
             in GitHub Actions with id-token: write, the job's own ID token for DEPLOY_OIDC_AUDIENCE
  temporal   TEMPORAL_ADDRESS TEMPORAL_NAMESPACE TEMPORAL_TASK_QUEUE TEMPORAL_UI_URL
             TEMPORAL_API_KEY | TEMPORAL_TLS_CLIENT_CERT_PATH + TEMPORAL_TLS_CLIENT_KEY_PATH
             [TEMPORAL_TLS_SERVER_CA_CERT_PATH TEMPORAL_TLS_SERVER_NAME TEMPORAL_TLS]

Exit codes:
  0    success; for deploy, rollback and wait: the service is stable on the new revision
  1    the deploy did not succeed (failed, rolled_back, cancelled, superseded), or Temporal refused the request
  2    usage or invalid input; nothing was sent
  3    Temporal cannot be reached or used (address, TLS, API key, namespace); nothing was sent
  130  stopped waiting after a second SIGINT/SIGTERM; the deploy goes on compensating`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('deployctl')
    .description('Durable deploys to AWS ECS on Temporal: deploy, follow, approve, cancel, roll back, inspect.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    // Usage errors exit 2 (main maps them). Commander writes them as one line, like every other error.
    .exitOverride()
    .configureOutput({
      outputError: (text, write) =>
        write(
          `deployctl: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')}; see --help\n`,
        ),
    })
    .addHelpText('after', ENVIRONMENT);
  for (const make of [
    deployCommand,
    rollbackCommand,
    waitCommand,
    statusCommand,
    approveCommand,
    rejectCommand,
    cancelCommand,
    listCommand,
    historyCommand,
    diffCommand,
    tokenCommand,
  ]) {
    // addCommand does not pass the program's settings on (unlike .command()): exit override, output, help option.
    program.addCommand(make(ctx).copyInheritedSettings(program));
  }
  return program;
}
