/**
 * Bad input is refused with one clear line naming the field, and nothing changes in ECS or in the registry.
 * The CLI refuses what it can see at the edge; the workflow validates again (input sent straight to Temporal),
 * and what only the target or the commit can reveal fails at the first stage that sees it.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WORKFLOW_TYPE } from '../../src/shared/names.js';
import type { DeployInput, DeployResult } from '../../src/shared/types.js';
import { breakGreetingTest } from '../../src/devstack/source-repo.js';
import { manifestDigest } from '../support/registry.js';
import { execa } from 'execa';
import { TOOLS_BIN } from '../../src/devstack/process.js';
import { deployctl } from '../../src/devstack/stack.js';
import { recordCounts, startFaultStack, type FaultStack } from './harness.js';

let fs: FaultStack;
let good: string;
const refused: string[] = [];

beforeAll(async () => {
  fs = await startFaultStack();
  await fs.startWorker('w0');
  good = await fs.source.commit('a good commit to break from');
}, 180_000);

afterAll(async () => {
  await recordCounts('bad-input', { badInputsRefused: refused.length, cases: refused });
  await fs?.stop();
});

/** What ECS and the registry hold, to prove nothing changed. */
async function snapshot(sha: string) {
  return {
    taskDefinition: (await fs.service()).taskDefinition,
    revisions: (await fs.revisions()).length,
    updates: fs.aws.count('ecs', 'UpdateService'),
    image: await manifestDigest(fs.stack.env.DEPLOY_REGISTRY ?? '', 'hello', sha),
  };
}

const metachars = ['a;rm -rf /', '$(reboot)', '`id`', 'x|nc evil 1', 'a&&b', "x'y", 'a\nb', '../../etc'];

describe('deployctl refuses bad input at the edge, before anything starts', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a short sha', ['--sha', 'abc123'], {}, /invalid --sha: expected the full 40-character/],
    ['a sha with shell characters', ['--sha', `${'a'.repeat(39)};`], {}, /invalid --sha/],
    [
      'a region that does not exist',
      [],
      { AWS_REGION: 'mars-east-1' },
      /invalid AWS_REGION: "mars-east-1" is not an AWS region/,
    ],
    ...metachars.map((v): [string, string[], Record<string, string>, RegExp] => [
      `ECS_CLUSTER ${JSON.stringify(v)}`,
      [],
      { ECS_CLUSTER: v },
      /invalid ECS_CLUSTER/,
    ]),
    ['ECS_SERVICE with $()', [], { ECS_SERVICE: '$(reboot)' }, /invalid ECS_SERVICE/],
    ['ECR_REPOSITORY with path traversal', [], { ECR_REPOSITORY: '../../etc' }, /invalid ECR_REPOSITORY/],
    ['CONTAINER_NAME with a pipe', [], { CONTAINER_NAME: 'a|b' }, /invalid CONTAINER_NAME/],
    [
      'ECS_TASK_DEFINITION with path traversal',
      [],
      { ECS_TASK_DEFINITION: '../../../etc/passwd' },
      /invalid ECS_TASK_DEFINITION/,
    ],
    ['ECS_TASK_DEFINITION absolute', [], { ECS_TASK_DEFINITION: '/etc/passwd' }, /invalid ECS_TASK_DEFINITION/],
    [
      'ECS_TASK_DEFINITION with backticks',
      [],
      { ECS_TASK_DEFINITION: 'deploy/`id`.json' },
      /invalid ECS_TASK_DEFINITION/,
    ],
  ];

  test.each(cases)('%s', async (label, args, env, message) => {
    const before = await snapshot(good);
    const out = await deployctl(fs.stack, ['deploy', ...(args.length ? args : ['--sha', good]), '--wait', '--json'], {
      ...fs.stack.env,
      ...env,
    });
    fs.cliOutput.push(out.stdout, out.stderr);
    expect(out.exitCode).not.toBe(0);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(await snapshot(good)).toEqual(before);
    refused.push(`cli: ${label}`);
  });
});

describe('the workflow validates its input again when it is sent straight to Temporal', () => {
  const target = {
    region: 'us-east-1',
    cluster: 'local',
    service: 'hello',
    repository: 'hello',
    containerName: 'hello',
  };
  const cases: [string, (sha: string) => unknown, RegExp][] = [
    ['a sha like HEAD~1', () => ({ sha: 'HEAD~1', target }), /^invalid sha/],
    [
      'a cluster with ;',
      (sha) => ({ sha, target: { ...target, cluster: 'local;rm -rf /' } }),
      /^invalid target\.cluster/,
    ],
    [
      'a region that does not exist',
      (sha) => ({ sha, target: { ...target, region: 'xx-nowhere-9' } }),
      /^invalid target\.region/,
    ],
    [
      'a task-definition path leaving the repository',
      (sha) => ({ sha, target: { ...target, taskDefinitionPath: 'deploy/../../../etc/passwd' } }),
      /^invalid target\.taskDefinitionPath/,
    ],
    [
      'a repository with $()',
      (sha) => ({ sha, target: { ...target, repository: '$(id)' } }),
      /^invalid target\.repository/,
    ],
    ['no target at all', (sha) => ({ sha }), /^invalid target: missing/],
  ];

  test.each(cases)('%s', async (label, make, message) => {
    const before = await snapshot(good);
    const handle = await fs.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: fs.stack.env.TEMPORAL_TASK_QUEUE ?? 'ecs-deploy',
      workflowId: `bad-input-${refused.length}-${Date.now()}`,
      args: [make(good) as DeployInput],
    });
    fs.runs.push({ sha: good, workflowId: handle.workflowId, handle, cliOutput: '' });
    const result = (await handle.result()) as DeployResult;
    expect(result.status).toBe('failed');
    expect(result.error?.stage).toBe('validate');
    expect(result.error?.message).toMatch(message);
    expect(result.error?.message).not.toContain('\n');
    expect(await snapshot(good)).toEqual(before);
    refused.push(`workflow: ${label}`);
  });
});

describe('what only the target or the commit reveals fails at that stage, and nothing changes', () => {
  const writeJson = (path: string, body: string) => async (dir: string) => {
    await mkdir(join(dir, 'deploy'), { recursive: true });
    await writeFile(join(dir, path), body);
  };
  const template = (patch: Record<string, unknown>) =>
    JSON.stringify({
      family: 'hello',
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: 'hello', image: 'x', essential: true }],
      ...patch,
    });
  const cases: [string, ((dir: string) => Promise<void>) | undefined, Record<string, string>, string, RegExp][] = [
    [
      'a sha not in the repository',
      undefined,
      { SHA: 'e'.repeat(40) },
      'checkout',
      /^sha: commit e{40} is not in the source repository/,
    ],
    [
      'a cluster that does not exist',
      undefined,
      { ECS_CLUSTER: 'nope' },
      'validate',
      /^cluster: ECS cluster "nope" not found/,
    ],
    [
      'a service that does not exist',
      undefined,
      { ECS_SERVICE: 'nope' },
      'validate',
      /^service: ECS service "nope" not found/,
    ],
    [
      'a repository that does not exist',
      undefined,
      { ECR_REPOSITORY: 'nope' },
      'validate',
      /^repository: ECR repository "nope" not found/,
    ],
    [
      'a task-definition file that is missing',
      undefined,
      { ECS_TASK_DEFINITION: 'deploy/missing.json' },
      'register',
      /taskDefinitionPath.*missing\.json/,
    ],
    [
      'a task-definition file that is not JSON',
      writeJson('deploy/bad.json', '{ not json'),
      { ECS_TASK_DEFINITION: 'deploy/bad.json' },
      'register',
      /invalid taskDefinitionPath: "deploy\/bad\.json" is not valid JSON/,
    ],
    ['a task definition lacking the container', undefined, { CONTAINER_NAME: 'sidecar' }, 'register', /sidecar/],
    [
      'cpu/memory Fargate does not offer',
      writeJson('deploy/big.json', template({ cpu: '256', memory: '8192' })),
      { ECS_TASK_DEFINITION: 'deploy/big.json' },
      'register',
      /invalid memory: Fargate with cpu 256 takes memory/,
    ],
    [
      'a compile error',
      async (dir) =>
        writeFile(join(dir, 'app', 'broken.go'), 'package main\n\nfunc broken() int { return undefinedThing }\n'),
      {},
      'build',
      /^failed to build app: .*undefined: undefinedThing/,
    ],
    [
      'a task-definition file committed as a symlink to /dev/zero',
      async (dir) => {
        await mkdir(join(dir, 'deploy'), { recursive: true });
        await symlink('/dev/zero', join(dir, 'deploy', 'zero.json'));
      },
      { ECS_TASK_DEFINITION: 'deploy/zero.json' },
      'register',
      /invalid taskDefinitionPath: "deploy\/zero\.json" is a symbolic link; commit the file itself/,
    ],
    [
      'a task-definition file larger than the limit',
      writeJson('deploy/huge.json', template({ padding: 'x'.repeat(2 * 1024 * 1024) })),
      { ECS_TASK_DEFINITION: 'deploy/huge.json' },
      'register',
      /invalid taskDefinitionPath: "deploy\/huge\.json" is larger than \d+ bytes/,
    ],
    ['failing tests', breakGreetingTest, {}, 'test', /^failed to test app: 1 test failed: .*TestRootSaysHelloWorld/],
    [
      'a Dockerfile error',
      async (dir) => writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY build/app /app\nCOPY nowhere.txt /\n'),
      {},
      'package',
      /^failed to build image from the Dockerfile: .*nowhere\.txt/,
    ],
  ];

  test.each(cases)(
    '%s',
    async (label, edit, env, stage, message) => {
      const sha = env.SHA ?? (await fs.source.commit(label, edit));
      const before = await snapshot(sha);
      const overrides = Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'SHA'));
      const { result, exitCode } = await fs.deployAndWait(sha, overrides);
      expect(exitCode).toBe(1);
      expect({ status: result.status, stage: result.error?.stage }).toEqual({ status: 'failed', stage });
      expect(result.error?.message.split('\n')[0]).toMatch(message);
      expect(await snapshot(sha)).toEqual(before);
      refused.push(`${stage}: ${label}`);
      if (edit)
        await fs.source.commit(`undo ${label}`, async (dir) => {
          const { execa } = await import('execa');
          // Back to the good tree exactly, added files removed too.
          await execa('git', ['-C', dir, 'read-tree', '-u', '--reset', good]);
        });
    },
    240_000,
  );

  test('the worker kept running through all of them: the good commit still deploys', async () => {
    const { result, exitCode } = await fs.deployAndWait(good);
    expect(exitCode).toBe(0);
    expect(result.status).toBe('succeeded');
  }, 240_000);

  test('no secret appears in any history, worker or stack log, or deployctl output of these deploys', async () => {
    expect(await fs.secretHits()).toEqual([]);
  });
});

describe('malformed signals sent with the temporal CLI leave the deploy controllable', () => {
  test('empty, wrong-typed and unknown-shaped supersede, cancel, approve and reject payloads are ignored; a cancel then ends it cancelled', async () => {
    const sha = await fs.source.commit('a commit that waits for approval while signals arrive');
    const run = await fs.startDeploy(sha, { DEPLOY_REQUIRE_APPROVAL: 'true' });
    await fs.waitForStage(run, 'approval');
    const temporal = async (name: string, input?: string) =>
      await execa(
        `${TOOLS_BIN}/temporal`,
        [
          'workflow',
          'signal',
          '--address',
          fs.stack.env.TEMPORAL_ADDRESS ?? '',
          '--workflow-id',
          run.workflowId,
          '--name',
          name,
          ...(input === undefined ? [] : ['--input', input]),
        ],
        { reject: false },
      );
    const sent: [string, string | undefined][] = [
      ['supersede', undefined],
      ['supersede', 'null'],
      ['supersede', '"not an object"'],
      ['supersede', '{"by": 7, "sha": []}'],
      ['cancel', '42'],
      ['cancel', '{"by": "mallory"}'],
      ['approve', undefined],
      ['approve', '{"token": 12}'],
      ['approve', '{"by": {"name": "mallory"}}'],
      ['reject', '[1, 2, 3]'],
      ['predecessorDone', '{}'],
      ['lease', '"x"'],
    ];
    for (const [name, input] of sent) {
      const out = await temporal(name, input);
      expect({ name, input, exit: out.exitCode }).toEqual({ name, input, exit: 0 });
    }
    // Still waiting for a real decision: nothing was thrown, nothing approved or superseded.
    const status = JSON.parse((await deployctl(fs.stack, ['status', run.workflowId, '--json'])).stdout) as DeployResult;
    expect(status.status).toBe('awaiting_approval');
    expect(status.approval?.state).toBe('pending');
    const cancel = await deployctl(fs.stack, [
      'cancel',
      run.workflowId,
      '--by',
      'carol',
      '--reason',
      'after the noise',
    ]);
    expect(cancel.exitCode).toBe(0);
    const result = await fs.result(run);
    expect(result.status).toBe('cancelled');
    expect(result.endedBy).toMatchObject({ by: 'carol', reason: 'after the noise' });
  }, 240_000);
});
