/**
 * deployctl as a user meets it: the built CLI, spawned with no Temporal behind it. Help, version, usage errors and
 * their exit codes (README "Exit codes"); nothing here needs a server, except that one command must fail to reach one.
 */
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, freePort } from '../../src/devstack/process.js';

const SHA = 'a'.repeat(40);

/** The built CLI with only the environment given (and PATH), so the developer's settings cannot leak in. */
async function deployctl(args: string[], env: Record<string, string> = {}) {
  return await execa('node', [join(ROOT, 'dist/cli/main.js'), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
}

const TARGET = {
  AWS_REGION: 'us-east-1',
  ECR_REPOSITORY: 'hello',
  ECS_CLUSTER: 'local',
  ECS_SERVICE: 'hello',
  CONTAINER_NAME: 'hello',
};

/** The command names the top-level help lists. */
function commandsIn(help: string): string[] {
  const section = help.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1] ?? '').filter((c) => c && c !== 'help');
}

describe('deployctl help and version', () => {
  test('--help lists the commands and the exit codes on stdout, and exits 0', async () => {
    const run = await deployctl(['--help']);
    expect(run.exitCode).toBe(0);
    expect(commandsIn(run.stdout).length).toBeGreaterThanOrEqual(9);
    expect(run.stdout).toMatch(/^Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 /m);
  });

  test('every command has --help that exits 0, describes each flag, and offers --json', async () => {
    const commands = commandsIn((await deployctl(['--help'])).stdout);
    for (const command of commands) {
      const run = await deployctl([command, '--help']);
      expect({ command, exitCode: run.exitCode }).toEqual({ command, exitCode: 0 });
      expect(run.stdout).toContain(`Usage: deployctl ${command}`);
      const flags = [...run.stdout.matchAll(/^ {2}(-[^\n]*)$/gm)].map((m) => m[1] ?? '');
      // A flag's line holds its description after the flag itself (or the description wraps to the next line).
      for (const line of flags)
        expect({ command, line, described: /\S\s{2,}\S/.test(line) }).toMatchObject({ described: true });
      expect({ command, json: run.stdout.includes('--json') }).toEqual({ command, json: true });
    }
  });

  test("approve's help names every way to prove who approves; the top-level help names the identity variables", async () => {
    const approve = (await deployctl(['approve', '--help'])).stdout;
    // Help wraps its descriptions, so words may be split by a line break.
    for (const text of ['--token-file <path>', '--token <jwt>', '--by <name>', 'DEPLOY_APPROVAL_TOKEN', 'four eyes']) {
      const pattern = new RegExp(text.split(' ').join('\\s+'));
      expect({ text, shown: pattern.test(approve) }).toEqual({ text, shown: true });
    }
    const top = (await deployctl(['--help'])).stdout;
    expect(top).toContain('DEPLOY_REQUESTER_TOKEN');
    expect(top).toContain('DEPLOY_OIDC_AUDIENCE');
    expect(commandsIn(top)).toContain('token');
  });

  test('--version prints the version in package.json and exits 0', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await deployctl(['--version']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });
});

describe('deployctl usage errors exit 2 with one line naming what to fix, and send nothing', () => {
  test.each<[string, string[], Record<string, string>, string]>([
    ['no command: the usage', [], {}, 'Usage: deployctl'],
    ['an unknown command', ['deploy-it'], {}, "deployctl: unknown command 'deploy-it'"],
    ['deploy without --sha', ['deploy'], TARGET, "deployctl: required option '--sha <sha>' not specified"],
    ['a short SHA', ['deploy', '--sha', 'abc1234'], TARGET, 'deployctl: invalid --sha: expected the full 40-character'],
    ['an unknown flag', ['deploy', '--sha', SHA, '--frobnicate'], TARGET, "deployctl: unknown option '--frobnicate'"],
    [
      'a target variable unset',
      ['deploy', '--sha', SHA],
      { ...TARGET, ECS_CLUSTER: '' },
      'deployctl: invalid ECS_CLUSTER: not set; set it, or pass --cluster',
    ],
    [
      'a bad target flag',
      ['deploy', '--sha', SHA, '--cluster', 'no/slash'],
      TARGET,
      'deployctl: invalid --cluster: "no/slash" is not a valid ECS cluster name',
    ],
    [
      'a bad duration',
      ['deploy', '--sha', SHA, '--stable-timeout', 'soon'],
      TARGET,
      'deployctl: invalid --stable-timeout: "soon" is not a duration',
    ],
    [
      'a bad per-target default',
      ['deploy', '--sha', SHA],
      { ...TARGET, DEPLOY_REQUIRE_APPROVAL: 'yes' },
      'deployctl: invalid DEPLOY_REQUIRE_APPROVAL: "yes" must be true or false',
    ],
    ['rollback to a branch name', ['rollback', '--to', 'main'], TARGET, 'deployctl: invalid --to:'],
    ['status without an id', ['status'], {}, "deployctl: missing required argument 'workflowId'"],
    ['status of a malformed id', ['status', 'deploy/../x'], {}, 'deployctl: invalid workflowId:'],
    [
      'approve with neither an ID token nor --by',
      ['approve', 'deploy.local.hello.x.1'],
      {},
      "deployctl: invalid --token-file: approve needs the approver's ID token",
    ],
    [
      'approve with a token that is no JWT',
      ['approve', 'deploy.local.hello.x.1', '--token', 'not-a-jwt'],
      {},
      'deployctl: invalid --token: expected an OIDC ID token',
    ],
    [
      'approve with both --token and --token-file',
      ['approve', 'deploy.local.hello.x.1', '--token', 'a.b.c', '--token-file', '/dev/null'],
      {},
      "deployctl: option '--token-file <path>' cannot be used with option '--token <jwt>'",
    ],
    [
      'approve with a token file that is not there',
      ['approve', 'deploy.local.hello.x.1', '--token-file', '/nonexistent/token'],
      {},
      'deployctl: invalid --token-file: cannot read /nonexistent/token',
    ],
    ['token without --as', ['token'], {}, "deployctl: required option '--as <name>' not specified"],
    [
      'token for an issuer that is not the local stack',
      ['token', '--as', 'bob'],
      { DEPLOY_OIDC_ISSUER: 'https://token.actions.githubusercontent.com' },
      "deployctl: invalid DEPLOY_OIDC_ISSUER: deployctl token mints only on the local stack's issuer",
    ],
    [
      'cancel with a blank reason',
      ['cancel', 'deploy.local.hello.x.1', '--by', 'bob', '--reason', ' '],
      {},
      'deployctl: invalid --reason: say why',
    ],
    [
      'list --service with no service',
      ['list', '--service'],
      { ECS_CLUSTER: 'local' },
      'deployctl: invalid ECS_SERVICE: not set',
    ],
    [
      'list --cluster alone',
      ['list', '--cluster', 'local'],
      {},
      'deployctl: invalid --cluster: only narrows --service',
    ],
    [
      'history without a region',
      ['history'],
      { ECS_CLUSTER: 'local', ECS_SERVICE: 'hello' },
      'deployctl: invalid AWS_REGION: not set',
    ],
    [
      'diff in no AWS region',
      ['diff', '--sha', SHA],
      { ...TARGET, AWS_REGION: 'mars-1' },
      'deployctl: invalid AWS_REGION: "mars-1" is not an AWS region',
    ],
    [
      'a Temporal address with a scheme',
      ['list'],
      { TEMPORAL_ADDRESS: 'https://temporal.example.com' },
      'deployctl: invalid TEMPORAL_ADDRESS:',
    ],
  ])('%s', async (_, args, env, message) => {
    const run = await deployctl(args, env);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
    // One line naming what to fix; only a bare `deployctl` answers with the whole usage.
    if (args.length > 0) expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('deployctl without a Temporal server', () => {
  test('list --service needs only the cluster and service, then exits 3 when Temporal does not answer', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const run = await deployctl(['list', '--service', 'hello', '--cluster', 'local'], { TEMPORAL_ADDRESS: address });
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain(`deployctl: failed to connect to Temporal at ${address}`);
    expect(run.stdout).toBe('');
  }, 30_000);
});
