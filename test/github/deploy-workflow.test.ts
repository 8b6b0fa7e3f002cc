/** The repository's deploy job and the example for other repositories, read as GitHub reads them. */
import { execa } from 'execa';
import { join } from 'node:path';
import { ROOT } from '../../src/devstack/process.js';
import { readAction, readWorkflow, type ActionMetadata, type Step, type Workflow } from './workflow-file.js';

let action: ActionMetadata;
let own: Workflow;
let example: Workflow;

beforeAll(async () => {
  action = await readAction(join(ROOT, 'action.yml'));
  own = await readWorkflow(join(ROOT, '.github/workflows/deploy.yml'));
  example = await readWorkflow(join(ROOT, 'docs/examples/deploy.yml'));
});

const deployStep = (workflow: Workflow): Step | undefined =>
  workflow.jobs.deploy?.steps.find((s) => s.uses === './' || s.uses?.split('@')[0]?.endsWith('/ecs-durable-deploy'));

describe('the deploy job', () => {
  test('runs on pushes to main under app/ and on dispatch with a sha, one job per service at a time', () => {
    expect(own.on).toMatchObject({
      push: { branches: ['main'], paths: ['app/**'] },
      workflow_dispatch: { inputs: { sha: { type: 'string' } } },
    });
    expect(own.concurrency?.group).toContain('${{ vars.ECS_CLUSTER }}');
    expect(own.concurrency?.group).toContain('${{ vars.ECS_SERVICE }}');
    expect(own.concurrency?.['cancel-in-progress']).toBe(false);
  });

  test('uses the action from this checkout, and builds, installs and logs in to nothing', () => {
    const steps = own.jobs.deploy?.steps ?? [];
    expect(steps.map((s) => s.uses)).toEqual(['actions/checkout@v4', './']);
    expect(steps.some((s) => s.run !== undefined)).toBe(false);
    const text = JSON.stringify(own.jobs.deploy);
    expect(text).not.toMatch(/npm|\bgo (build|test)\b|docker|buildah|AWS_ACCESS_KEY|AWS_SECRET|role-to-assume/i);
    expect(own.permissions).toEqual({ contents: 'read' });
    // The job's own ID token proves who asked; it is no cloud credential.
    expect(own.jobs.deploy?.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
  });

  test("gives the action the worker's audience, so it sends the job's ID token as the requester's proof", () => {
    expect(deployStep(own)?.with?.['oidc-audience']).toBe('${{ vars.DEPLOY_OIDC_AUDIENCE }}');
  });
});

describe('the approve job', () => {
  let approve: Workflow;

  beforeAll(async () => {
    approve = await readWorkflow(join(ROOT, '.github/workflows/approve.yml'));
  });

  test('runs by hand with the deploy id, in the protected environment, with an ID token and no cloud credentials', () => {
    expect(approve.on).toMatchObject({ workflow_dispatch: { inputs: { 'workflow-id': { required: true } } } });
    expect(approve.jobs.approve).toMatchObject({
      environment: 'production',
      permissions: { contents: 'read', 'id-token': 'write' },
    });
    expect(JSON.stringify(approve.jobs.approve)).not.toMatch(/AWS_ACCESS_KEY|AWS_SECRET|role-to-assume|--token /);
  });

  test('checks out, installs and builds deployctl, then approves with scripts/gha-approve.sh', () => {
    // test/action/main.test.ts runs the last step in this checkout, which the steps before it produce.
    const steps = approve.jobs.approve?.steps ?? [];
    expect(steps.map((s) => s.uses?.split('@')[0] ?? s.run)).toEqual([
      'actions/checkout',
      'actions/setup-node',
      'npm ci --no-audit --no-fund',
      'npm run build',
      'scripts/gha-approve.sh',
    ]);
    expect(steps.at(-1)?.id).toBe('approve');
  });
});

describe.each([
  ['the deploy job', () => own],
  ['the example for other repositories', () => example],
])('%s', (_, workflow) => {
  test('gives the action every input it requires, and only inputs it declares', () => {
    const step = deployStep(workflow());
    expect(step).toBeDefined();
    const given = Object.keys(step?.with ?? {});
    const required = Object.entries(action.inputs)
      .filter(([, spec]) => spec.required)
      .map(([name]) => name);
    expect(required.filter((name) => !given.includes(name))).toEqual([]);
    expect(given.filter((name) => !(name in action.inputs))).toEqual([]);
  });
});

describe('action.yml', () => {
  test('runs a bundle that is in the repository, on a Node the runners have, so callers install nothing', async () => {
    expect(['node20', 'node24']).toContain(action.runs.using);
    const { stdout } = await execa('git', ['-C', ROOT, 'ls-files', '--error-unmatch', action.runs.main], {
      reject: false,
    });
    expect(stdout.trim()).toBe(action.runs.main);
  });
});
