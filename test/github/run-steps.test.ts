/**
 * The deploy job's own `run:` steps, exactly as .github/workflows/deploy.yml writes them, run with bash against
 * the real local stack, in a copy of the repository as actions/checkout would leave it.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { execa } from 'execa';
import { copyFile, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { breakGreetingTest, startAppStack, type AppStack, type SourceRepo } from '../e2e/source-repo.js';
import { setNextRollout } from '../support/moto.js';
import { ROOT } from '../support/process.js';
import { deployctl, type Stack } from '../support/stack.js';
import type { DeployResult } from '../../src/shared/types.js';
import { readWorkflow, startRunStep, type Step, type Workflow } from './workflow-file.js';

let workflow: Workflow;
let deployStep: Step;
let stack: Stack;
let source: SourceRepo;
let workspace: string;
let runnerTemp: string;
let ecs: ECSClient;
let app: AppStack | undefined;

/** What the repository's secrets and variables hold in this test; every expression the job uses must be here. */
function known(overrides: Record<string, string> = {}): Record<string, string> {
  const e = stack.env;
  return {
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
    'vars.DEPLOY_OIDC_AUDIENCE': e.DEPLOY_OIDC_AUDIENCE ?? '',
    'vars.DEPLOY_STABLE_TIMEOUT': '',
    ...overrides,
  };
}

interface JobFiles {
  output: string;
  summary: string;
}

/** The runner's environment for one job: no AWS or Temporal settings, only what GitHub itself sets. */
async function runnerEnv(sha: string): Promise<{ env: Record<string, string>; files: JobFiles }> {
  const dir = await mkdtemp(join(runnerTemp, 'job-'));
  const files = { output: join(dir, 'output'), summary: join(dir, 'summary.md') };
  await writeFile(files.output, '');
  await writeFile(files.summary, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
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
  return { env, files };
}

async function runDeployStep(sha: string, overrides: Record<string, string> = {}, runner: Record<string, string> = {}) {
  const { env, files } = await runnerEnv(sha);
  const run = await startRunStep({
    workflow,
    job: 'deploy',
    step: deployStep,
    known: known(overrides),
    workspace,
    baseEnv: { ...env, ...runner },
    scriptDir: env.RUNNER_TEMP ?? runnerTemp,
  });
  return { run, files };
}

async function outputs(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function serviceTaskDefinition(): Promise<string | undefined> {
  const out = await ecs.send(
    new DescribeServicesCommand({ cluster: stack.env.ECS_CLUSTER, services: [stack.env.ECS_SERVICE ?? ''] }),
  );
  return out.services?.[0]?.taskDefinition;
}

/** What actions/checkout leaves: the repository's files (tracked and new, not ignored), without node_modules. */
async function checkout(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gha-workspace-'));
  const { stdout } = await execa('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard']);
  for (const path of stdout.split('\0').filter(Boolean)) {
    // Deleted files, and the symlinks a worktree may have to the main checkout's node_modules or tools.
    if (!(await lstat(join(ROOT, path)).catch(() => undefined))?.isFile()) continue;
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await copyFile(join(ROOT, path), join(dir, path));
  }
  return dir;
}

beforeAll(async () => {
  workflow = await readWorkflow(join(ROOT, '.github/workflows/deploy.yml'));
  const steps = workflow.jobs.deploy?.steps ?? [];
  const found = steps.find((s) => s.id === 'deploy');
  if (!found) throw new Error('deploy.yml has no step with id "deploy"');
  deployStep = found;
  runnerTemp = await mkdtemp(join(tmpdir(), 'gha-runner-'));
  workspace = await checkout();
  // The steps before the deploy (install, build) run once, as written, for the whole file.
  const { env } = await runnerEnv('0'.repeat(40));
  for (const step of steps.slice(0, steps.indexOf(found)).filter((s) => s.run !== undefined)) {
    const { process: child } = await startRunStep({
      workflow,
      job: 'deploy',
      step,
      known: {},
      workspace,
      baseEnv: { ...env, npm_config_prefer_offline: 'true' },
      scriptDir: runnerTemp,
    });
    const result = await child;
    if (result.exitCode !== 0) throw new Error(`step "${step.name}" failed:\n${result.all}`);
  }
  app = await startAppStack();
  ({ stack, source, ecs } = app);
}, 420_000);

afterAll(async () => {
  await app?.stop();
  for (const dir of [workspace, runnerTemp]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the deploy job', () => {
  test('runs on pushes to main under app/ and on dispatch with a sha, one job per service at a time', () => {
    expect(workflow.on).toMatchObject({
      push: { branches: ['main'], paths: ['app/**'] },
      workflow_dispatch: { inputs: { sha: { type: 'string' } } },
    });
    expect(workflow.concurrency?.group).toContain('${{ vars.ECS_CLUSTER }}');
    expect(workflow.concurrency?.group).toContain('${{ vars.ECS_SERVICE }}');
  });

  test('builds nothing and holds no cloud credentials: no Go, no Docker, no AWS login', () => {
    const steps = workflow.jobs.deploy?.steps ?? [];
    const uses = steps.flatMap((s) => (s.uses ? [s.uses.split('@')[0]] : []));
    expect(uses).toEqual(['actions/checkout', 'actions/setup-node']);
    const text = JSON.stringify(workflow.jobs.deploy);
    expect(text).not.toMatch(/\bgo (build|test)\b|docker|buildah|AWS_ACCESS_KEY|AWS_SECRET|role-to-assume/i);
    expect(workflow.permissions).toEqual({ contents: 'read' });
    // The job's own ID token proves who asked; it is no cloud credential.
    expect(workflow.jobs.deploy?.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
  });
});

describe("the deploy job's run steps on the local stack", () => {
  let good: string;

  test('a good commit: exit 0, progress in the log, a summary with stages, image, task definition and UI link', async () => {
    good = await source.commit('a good commit');
    const { run, files } = await runDeployStep(good);
    const result = await run.process;
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain('local/hello build: started');
    expect(result.all).toMatch(/local\/hello rollout: (PENDING|IN_PROGRESS) /);

    const out = await outputs(files.output);
    const arn = await serviceTaskDefinition();
    expect(out).toMatchObject({
      status: 'succeeded',
      sha: good,
      'workflow-id': `deploy.local.hello.${good}.1`,
      image: `${stack.env.DEPLOY_REGISTRY}/hello:${good}`,
      'task-definition': arn,
      'failed-stage': '',
    });
    expect(out['image-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ui = `${stack.env.TEMPORAL_UI_URL}/namespaces/default/workflows/deploy.local.hello.${good}.1/${out['run-id']}/history`;
    expect(out['ui-url']).toBe(ui);

    const summary = await readFile(files.summary, 'utf8');
    expect(summary).toContain(`Deploy ${good.slice(0, 7)} to local/hello: succeeded`);
    expect(summary).toContain(`| Image | \`${out.image}@${out['image-digest']}\` |`);
    expect(summary).toContain(`| Task definition | \`${arn}\` |`);
    expect(summary).toContain(`](${ui})`);
    for (const stage of ['checkout', 'build', 'test', 'package', 'register', 'update', 'wait_stable'])
      expect(summary).toMatch(new RegExp(`\\| ${stage} \\| succeeded \\| [0-9-]+ [0-9:]+ \\| [0-9.]+ m?s \\|`));
  });

  test('a commit whose Go test fails: exit 1, the summary says failed at test and names the test', async () => {
    const before = await serviceTaskDefinition();
    const bad = await source.commit('break the greeting test', breakGreetingTest);
    const { run, files } = await runDeployStep(bad);
    const result = await run.process;
    expect(result.exitCode).toBe(1);
    const summary = await readFile(files.summary, 'utf8');
    expect(summary).toContain(`Deploy ${bad.slice(0, 7)} to local/hello: failed at test`);
    expect(summary).toContain('### Error at test');
    expect(summary).toContain('--- FAIL: TestRootSaysHelloWorld');
    expect(await outputs(files.output)).toMatchObject({ status: 'failed', 'failed-stage': 'test' });
    expect(await serviceTaskDefinition()).toBe(before);
    await source.commit('fix the greeting test', async (dir) => {
      await execa('git', ['-C', dir, 'checkout', good, '--', 'app/main_test.go']);
    });
  });

  test('a dispatch with a sha input deploys that sha, not GITHUB_SHA', async () => {
    const { run, files } = await runDeployStep('f'.repeat(40), { 'inputs.sha': good });
    const result = await run.process;
    // The good commit is what the service runs: deployctl reports it as live instead of building again.
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain(`note: ${good.slice(0, 12)} is already live`);
    expect(await outputs(files.output)).toMatchObject({ status: 'succeeded', sha: good });
  });

  test('bad Temporal settings: exit 1 and a summary that quotes the error', async () => {
    const { run, files } = await runDeployStep(good, { 'secrets.TEMPORAL_NAMESPACE': 'no-such-namespace' });
    const result = await run.process;
    expect(result.exitCode).toBe(1);
    const summary = await readFile(files.summary, 'utf8');
    expect(summary).toContain('no result (deployctl exited 1)');
    expect(summary).toContain('invalid TEMPORAL_NAMESPACE: namespace "no-such-namespace" does not exist');
  });

  test('cancelling the job (SIGTERM to the step) cancels the deploy, which puts the service back', async () => {
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
    const { run, files } = await runDeployStep(sha);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`no rollout within 90 s:\n${seen}`)), 90_000);
      run.process.all?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('local/hello rollout: IN_PROGRESS')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void run.process.then(() => reject(new Error(`the step ended before the rollout started:\n${seen}`)));
    });
    expect(await serviceTaskDefinition()).not.toBe(before);
    // As the runner does: the signal goes to the step's shell only, not to its children.
    run.process.kill('SIGTERM');
    const result = await run.process;
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain('SIGTERM: cancelling the deploy');

    const id =
      new RegExp(`started (deploy\\.local\\.hello\\.${sha}\\.\\d+)`).exec(result.all ?? '')?.[1] ?? 'not found';
    const status = await deployctl(stack, ['status', id, '--json']);
    const final = JSON.parse(status.stdout) as DeployResult;
    expect(final.status).toBe('cancelled');
    expect(final.endedBy?.reason).toContain('SIGTERM');
    expect(await serviceTaskDefinition()).toBe(before);
    const summary = await readFile(files.summary, 'utf8');
    expect(summary).toContain(`Deploy ${sha.slice(0, 7)} to local/hello: cancelled by deployctl`);
  }, 240_000);
});

/**
 * What a job with `id-token: write` gets from GitHub, pointing at the local issuer, which answers GitHub's request
 * shape: a bearer-authenticated GET, `&audience=` appended, {"value": "<jwt>"} back. `sub` is the identity the local
 * worker reads.
 */
async function idTokenEnv(sub: string): Promise<Record<string, string>> {
  const params = new URLSearchParams({ sub, actor: sub, environment: 'production' });
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${stack.env.DEPLOY_OIDC_ISSUER}/token?${params.toString()}`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: (await readFile(stack.env.DEPLOY_DEV_ISSUER_KEY_FILE ?? '', 'utf8')).trim(),
  };
}

describe('the approve job', () => {
  let approve: Workflow;
  let approveStep: Step;

  beforeAll(async () => {
    approve = await readWorkflow(join(ROOT, '.github/workflows/approve.yml'));
    const found = approve.jobs.approve?.steps.find((s) => s.id === 'approve');
    if (!found) throw new Error('approve.yml has no step with id "approve"');
    approveStep = found;
  });

  test('runs by hand with the deploy id, in the protected environment, with an ID token and no cloud credentials', () => {
    expect(approve.on).toMatchObject({ workflow_dispatch: { inputs: { 'workflow-id': { required: true } } } });
    expect(approve.jobs.approve).toMatchObject({
      environment: 'production',
      permissions: { contents: 'read', 'id-token': 'write' },
    });
    expect(JSON.stringify(approve.jobs.approve)).not.toMatch(/AWS_ACCESS_KEY|AWS_SECRET|role-to-assume|--token /);
  });

  async function runApproveStep(workflowId: string, sub: string) {
    const { env } = await runnerEnv('0'.repeat(40));
    const { process: child } = await startRunStep({
      workflow: approve,
      job: 'approve',
      step: approveStep,
      known: {
        ...known(),
        'inputs.workflow-id': workflowId,
        'inputs.comment': `approved by ${sub} in Actions`,
      },
      workspace,
      baseEnv: { ...env, ...(await idTokenEnv(sub)), GITHUB_ACTOR: sub },
      scriptDir: env.RUNNER_TEMP ?? runnerTemp,
    });
    return await child;
  }

  test("a deploy job's request waits for approval; the requester's own approve job is refused, another's deploys it", async () => {
    const sha = await source.commit('a commit approved from Actions');
    const { run } = await runDeployStep(sha, { 'vars.DEPLOY_REQUIRE_APPROVAL': 'true' }, await idTokenEnv('alice'));
    const workflowId = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`never awaiting approval within 150 s:\n${seen}`)), 150_000);
      run.process.all?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const id = new RegExp(`started (deploy\\.local\\.hello\\.${sha}\\.\\d+)`).exec(seen)?.[1];
        if (id && seen.includes('awaiting approval')) {
          clearTimeout(timer);
          resolve(id);
        }
      });
      void run.process.then(() => reject(new Error(`the step ended before awaiting approval:\n${seen}`)));
    });

    const own = await runApproveStep(workflowId, 'alice');
    expect(own.exitCode).toBe(1);
    expect(own.all).toContain(
      `deployctl: failed to approve ${workflowId}: approver "alice" requested ${workflowId} and cannot approve it too; four eyes need another approver`,
    );

    const other = await runApproveStep(workflowId, 'bob');
    expect(other.all).toContain(`${workflowId}: approved by bob (verified)`);
    expect(other.exitCode).toBe(0);
    // No token reaches the log.
    expect(other.all).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);

    const deployed = await run.process;
    expect(deployed.exitCode).toBe(0);
    const final = JSON.parse((await deployctl(stack, ['status', workflowId, '--json'])).stdout) as DeployResult;
    expect(final.approval).toMatchObject({
      state: 'approved',
      by: 'bob',
      proof: 'verified',
      comment: 'approved by bob in Actions',
      requester: { id: 'alice', proof: 'verified' },
    });
  }, 300_000);
});
