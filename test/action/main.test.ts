/**
 * The GitHub Action as the runner runs it: `node <runs.main>` from action.yml, with the INPUT_* variables the
 * repository's deploy job (.github/workflows/deploy.yml, `uses: ./`) gives it, and the runner's GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, against the real local stack. One stack for the whole file.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';
import {
  actionInputEnv,
  readAction,
  readWorkflow,
  runStep,
  type ActionMetadata,
  type Step,
  type Workflow,
} from '../github/workflow-file.js';
import { setNextRollout } from '../../src/devstack/moto.js';
import { ROOT } from '../../src/devstack/process.js';
import { deployctl, type Stack } from '../../src/devstack/stack.js';
import type { DeployResult } from '../../src/shared/types.js';

let action: ActionMetadata;
let step: Step;
let app: AppStack | undefined;
let stack: Stack;
let source: SourceRepo;
let ecs: ECSClient;
let runnerTemp: string;

beforeAll(async () => {
  action = await readAction(join(ROOT, 'action.yml'));
  const workflow = await readWorkflow(join(ROOT, '.github/workflows/deploy.yml'));
  const found = workflow.jobs.deploy?.steps.find((s) => s.uses === './');
  if (!found) throw new Error('deploy.yml has no step that uses ./ (the action)');
  step = found;
  runnerTemp = await mkdtemp(join(tmpdir(), 'gha-runner-'));
  app = await startAppStack();
  ({ stack, source, ecs } = app);
}, 180_000);

afterAll(async () => {
  await app?.stop();
  if (runnerTemp) await rm(runnerTemp, { recursive: true, force: true });
});

/** What the repository's secrets and variables hold in this test; every expression the step uses must be here. */
function known(sha: string, overrides: Record<string, string> = {}): Record<string, string> {
  const e = stack.env;
  return {
    'github.sha': sha,
    'inputs.sha': '',
    'secrets.TEMPORAL_ADDRESS': e.TEMPORAL_ADDRESS ?? '',
    'secrets.TEMPORAL_NAMESPACE': e.TEMPORAL_NAMESPACE ?? '',
    'secrets.TEMPORAL_API_KEY': '',
    'secrets.TEMPORAL_TLS_CLIENT_CERT': '',
    'secrets.TEMPORAL_TLS_CLIENT_KEY': '',
    'secrets.TEMPORAL_TLS_SERVER_CA_CERT': '',
    'vars.TEMPORAL_TLS_SERVER_NAME': '',
    'vars.TEMPORAL_TASK_QUEUE': e.TEMPORAL_TASK_QUEUE ?? '',
    'vars.TEMPORAL_UI_URL': e.TEMPORAL_UI_URL ?? '',
    'vars.AWS_REGION': e.AWS_REGION ?? '',
    'vars.ECR_REPOSITORY': e.ECR_REPOSITORY ?? '',
    'vars.ECS_CLUSTER': e.ECS_CLUSTER ?? '',
    'vars.ECS_SERVICE': e.ECS_SERVICE ?? '',
    'vars.CONTAINER_NAME': e.CONTAINER_NAME ?? '',
    'vars.ECS_TASK_DEFINITION': e.ECS_TASK_DEFINITION ?? '',
    'vars.DEPLOY_REQUIRE_APPROVAL': '',
    'vars.DEPLOY_STABLE_TIMEOUT': '',
    'vars.DEPLOY_OIDC_AUDIENCE': e.DEPLOY_OIDC_AUDIENCE ?? '',
    ...overrides,
  };
}

interface ActionRun {
  process: ResultPromise<{ all: true; reject: false }>;
  output: string;
  summary: string;
}

/**
 * Starts the action's node process as the runner does: its own environment (no AWS or Temporal settings, only what
 * GitHub sets and the inputs), the workspace as the working directory.
 */
/** What GitHub itself sets in a step's environment; the job's own settings come only through inputs or `env:`. */
function runnerEnv(dir: string, sha: string, files: { output: string; summary: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: dir,
    GITHUB_SHA: sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: 'acme/hello',
    GITHUB_RUN_ID: '4242',
    GITHUB_ACTOR: 'octocat',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: dir,
  };
}

async function stepFiles(): Promise<{ dir: string; output: string; summary: string }> {
  const dir = await mkdtemp(join(runnerTemp, 'step-'));
  const files = { dir, output: join(dir, 'output'), summary: join(dir, 'summary.md') };
  await writeFile(files.output, '');
  await writeFile(files.summary, '');
  return files;
}

/**
 * What a job with `id-token: write` gets from GitHub, pointing at the local issuer, which answers GitHub's request
 * shape: a bearer-authenticated GET, `&audience=` appended, {"value": "<jwt>"} back. `sub` is the identity the local
 * worker reads; `actor` and `environment` are the claims GitHub's tokens carry.
 */
async function idTokenEnv(sub: string): Promise<Record<string, string>> {
  const params = new URLSearchParams({ sub, actor: sub, environment: 'production' });
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${stack.env.DEPLOY_OIDC_ISSUER}/token?${params.toString()}`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: (await readFile(stack.env.DEPLOY_DEV_ISSUER_KEY_FILE ?? '', 'utf8')).trim(),
  };
}

async function startAction(
  sha: string,
  opts: { known?: Record<string, string>; inputs?: Record<string, string>; runner?: Record<string, string> } = {},
): Promise<ActionRun> {
  const { dir, output, summary } = await stepFiles();
  const env: Record<string, string> = {
    ...runnerEnv(dir, sha, { output, summary }),
    ...opts.runner,
    ...actionInputEnv(action, step, known(sha, opts.known)),
  };
  // Inputs the repository's job leaves at their defaults, set as another repository's job would.
  for (const [name, value] of Object.entries(opts.inputs ?? {})) env[`INPUT_${name.toUpperCase()}`] = value;
  const child = execa('node', [join(ROOT, action.runs.main)], {
    cwd: dir,
    env,
    extendEnv: false,
    reject: false,
    all: true,
  });
  return { process: child, output, summary };
}

/** The outputs file as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks. */
async function outputs(file: string): Promise<Record<string, string>> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const out: Record<string, string> = {};
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block?.[1] && block[2]) {
      const end = lines.indexOf(block[2], i + 1);
      out[block[1]] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

async function serviceTaskDefinition(): Promise<string | undefined> {
  const out = await ecs.send(
    new DescribeServicesCommand({ cluster: stack.env.ECS_CLUSTER, services: [stack.env.ECS_SERVICE ?? ''] }),
  );
  return out.services?.[0]?.taskDefinition;
}

/** Resolves once the log shows `text`; fails if the process ends first. */
async function logShows(run: ActionRun, text: string, timeoutMs = 120_000): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    run.process.all.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
    void run.process.then(() => reject(new Error(`the action ended before "${text}":\n${seen}`)));
  });
}

describe('the action, run as the runner runs it, on the local stack', () => {
  let good: string;

  test('a good commit: exit 0, progress in the log, every output declared and set, a summary with stages and links', async () => {
    good = await source.commit('a good commit');
    const run = await startAction(good);
    const result = await run.process;
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain(`local/hello deploy ${good.slice(0, 7)}: started deploy.local.hello.${good}.`);
    expect(result.all).toContain('local/hello build: succeeded in');
    // Only a reading taken during the rollout shows it under way (as ECS's service deployment reports it): the log
    // streamed, it was not printed at the end.
    expect(result.all).toMatch(/local\/hello rollout: (PENDING|IN_PROGRESS) .*running \d\/2/);

    const out = await outputs(run.output);
    // Other jobs read outputs only through action.yml: each one written must be declared there.
    expect(Object.keys(out).filter((name) => !(name in action.outputs))).toEqual([]);
    const arn = await serviceTaskDefinition();
    const workflowId = out['workflow-id'] ?? '';
    expect(workflowId).toMatch(new RegExp(`^deploy\\.local\\.hello\\.${good}\\.\\d+$`));
    expect(out).toMatchObject({
      status: 'succeeded',
      sha: good,
      image: `${stack.env.DEPLOY_REGISTRY}/hello:${good}`,
      'task-definition-arn': arn,
      'failed-stage': '',
    });
    expect(out['image-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(out['previous-task-definition-arn']).toMatch(/task-definition\/hello:\d+$/);
    const ui = `${stack.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${workflowId}/${out['run-id']}/history`;
    expect(out['ui-url']).toBe(ui);

    const summary = await readFile(run.summary, 'utf8');
    expect(summary).toContain(`Deploy ${good.slice(0, 7)} to local/hello: succeeded`);
    expect(summary).toContain(`| Image | \`${out.image}@${out['image-digest']}\` |`);
    expect(summary).toContain(`| Task definition | \`${arn}\` |`);
    expect(summary).toContain(`](${ui})`);
    for (const stage of ['checkout', 'build', 'test', 'package', 'register', 'update', 'wait_stable'])
      expect(summary).toMatch(new RegExp(`\\| ${stage} \\| succeeded \\| [0-9-]+ [0-9:]+ \\| [0-9.]+ m?s \\|`));
  });

  test('a dispatch with a sha input deploys that sha, not GITHUB_SHA', async () => {
    const run = await startAction('f'.repeat(40), { known: { 'inputs.sha': good } });
    const result = await run.process;
    // The good commit is what the service runs: the deploy reports it as live instead of building again.
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain(`note: ${good.slice(0, 12)} is already live`);
    expect(await outputs(run.output)).toMatchObject({ status: 'succeeded', sha: good });
  });

  test('bad Temporal settings: the step fails without a deploy, and the summary quotes the error', async () => {
    const run = await startAction(good, { known: { 'secrets.TEMPORAL_NAMESPACE': 'no-such-namespace' } });
    const result = await run.process;
    expect(result.exitCode).toBe(3);
    expect(result.all).toContain('::error::invalid TEMPORAL_NAMESPACE: namespace "no-such-namespace" does not exist');
    const summary = await readFile(run.summary, 'utf8');
    expect(summary).toContain(`## ❌ Deploy ${good.slice(0, 7)}: no result`);
    expect(summary).toContain('invalid TEMPORAL_NAMESPACE: namespace "no-such-namespace" does not exist');
  });

  test('cancelling the job (SIGINT to the node process) cancels the deploy, which puts the service back', async () => {
    const before = await serviceTaskDefinition();
    const svc = await ecs.send(
      new DescribeServicesCommand({ cluster: stack.env.ECS_CLUSTER, services: [stack.env.ECS_SERVICE ?? ''] }),
    );
    await setNextRollout({
      endpoint: stack.env.AWS_ENDPOINT_URL ?? '',
      region: stack.env.AWS_REGION ?? '',
      serviceArn: svc.services?.[0]?.serviceArn ?? '',
      outcome: 'hang',
    });
    const sha = await source.commit('a commit whose rollout never finishes');
    const run = await startAction(sha);
    await logShows(run, 'local/hello rollout: IN_PROGRESS');
    expect(await serviceTaskDefinition()).not.toBe(before);
    // As the runner does on cancel: SIGINT to the action's node process (SIGTERM follows only 7.5 s later).
    run.process.kill('SIGINT');
    const result = await run.process;
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain('local/hello SIGINT: cancelling the deploy');

    const out = await outputs(run.output);
    const final = JSON.parse(
      (await deployctl(stack, ['status', out['workflow-id'] ?? '?', '--json'])).stdout,
    ) as DeployResult;
    expect(final.status).toBe('cancelled');
    expect(final.endedBy).toMatchObject({ by: 'github-actions', reason: 'the job was cancelled (SIGINT)' });
    expect(await serviceTaskDefinition()).toBe(before);
    expect(out.status).toBe('cancelled');
    const summary = await readFile(run.summary, 'utf8');
    expect(summary).toContain(`Deploy ${sha.slice(0, 7)} to local/hello: cancelled by github-actions`);
  }, 240_000);

  test('wait: false requests the deploy and ends the step; deployctl wait follows it to the same end', async () => {
    const sha = await source.commit('a commit followed from elsewhere');
    const queued = await startAction(sha, { inputs: { wait: 'false' } });
    expect((await queued.process).exitCode).toBe(0);
    const out = await outputs(queued.output);
    expect(out.status).toBe('queued');
    const workflowId = out['workflow-id'] ?? '';
    expect(await readFile(queued.summary, 'utf8')).toContain(`deployctl wait ${workflowId}`);

    const waited = await deployctl(stack, ['wait', workflowId, '--json']);
    expect(waited.exitCode).toBe(0);
    expect(waited.stderr).toContain('local/hello wait_stable: succeeded');
    const result = JSON.parse(waited.stdout) as DeployResult;
    expect(result).toMatchObject({ status: 'succeeded', sha, workflowId });
    expect(await serviceTaskDefinition()).toBe(result.taskDefinitionArn);
  }, 240_000);
});

/**
 * The approve job as the runner runs it: approve.yml's `Approve` step in bash, with the job's ID token request
 * variables, in this checkout (the job's earlier steps, checkout, npm ci and the build, are what this checkout holds:
 * test/github/deploy-workflow.test.ts checks that they are exactly those).
 */
describe('the approve job, for a deploy the action requested with the ID token of its job', () => {
  let approve: Workflow;
  let approveStep: Step;

  beforeAll(async () => {
    approve = await readWorkflow(join(ROOT, '.github/workflows/approve.yml'));
    const found = approve.jobs.approve?.steps.find((s) => s.id === 'approve');
    if (!found) throw new Error('approve.yml has no step with id "approve"');
    approveStep = found;
  });

  async function runApproveStep(workflowId: string, sub: string) {
    const files = await stepFiles();
    return await runStep({
      workflow: approve,
      job: 'approve',
      step: approveStep,
      known: {
        ...known('0'.repeat(40)),
        'inputs.workflow-id': workflowId,
        'inputs.comment': `approved by ${sub} in Actions`,
      },
      workspace: ROOT,
      baseEnv: { ...runnerEnv(files.dir, '0'.repeat(40), files), ...(await idTokenEnv(sub)), GITHUB_ACTOR: sub },
      scriptDir: files.dir,
    });
  }

  test("the deploy waits for approval; the requester's own approve job is refused (four eyes), another's lets it succeed", async () => {
    const before = await serviceTaskDefinition();
    const sha = await source.commit('a commit approved from Actions');
    const run = await startAction(sha, {
      known: { 'vars.DEPLOY_REQUIRE_APPROVAL': 'true' },
      runner: await idTokenEnv('alice'),
    });
    const seen = await logShows(run, 'local/hello awaiting approval', 150_000);
    const workflowId = new RegExp(`started (deploy\\.local\\.hello\\.${sha}\\.\\d+)`).exec(seen)?.[1] ?? 'not found';
    expect(await serviceTaskDefinition()).toBe(before);

    const own = await runApproveStep(workflowId, 'alice');
    expect(own.exitCode).toBe(1);
    expect(own.all).toContain(
      `deployctl: failed to approve ${workflowId}: approver "alice" requested ${workflowId} and cannot approve it too; four eyes need another approver`,
    );

    const other = await runApproveStep(workflowId, 'bob');
    expect(other.all).toContain(`${workflowId}: approved by bob (verified)`);
    expect(other.exitCode).toBe(0);

    const result = await run.process;
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain('local/hello approval: approved by bob (verified) (approved by bob in Actions)');
    expect(result.all).toContain('local/hello requested by: alice (verified)');
    // No ID token reaches either job's log. The action tells the runner to mask its job's token (an ::add-mask::
    // command, which the runner consumes and never shows); no other line holds one.
    const tokens = /eyJ[A-Za-z0-9_-]+\.eyJ/;
    expect(result.all).toMatch(new RegExp(`^::add-mask::${tokens.source}`, 'm'));
    for (const log of [result.all, own.all, other.all]) {
      const shown = log.split('\n').filter((line) => !line.startsWith('::add-mask::'));
      expect(shown.filter((line) => tokens.test(line))).toEqual([]);
    }

    expect(await outputs(run.output)).toMatchObject({ status: 'succeeded', 'workflow-id': workflowId });
    const summary = await readFile(run.summary, 'utf8');
    expect(summary).toContain('| Approval | approved by bob (verified) |');
    expect(summary).toContain('| Requested by | alice (verified) |');
    const final = JSON.parse((await deployctl(stack, ['status', workflowId, '--json'])).stdout) as DeployResult;
    expect(final.approval).toMatchObject({
      state: 'approved',
      by: 'bob',
      proof: 'verified',
      comment: 'approved by bob in Actions',
      requester: { id: 'alice', proof: 'verified' },
    });
    expect(await serviceTaskDefinition()).toBe(final.taskDefinitionArn);
  }, 300_000);
});
