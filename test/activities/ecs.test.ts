import { SHARED_CACHE_DIR } from '../support/workspace.js';
/** The ECS activities against moto with realistic rollouts (scripts/moto_sim/). */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ecsActivities, type EcsActivities } from '../../src/activities/ecs.js';
import { toTemplate } from '../../src/activities/ecs-taskdef.js';
import { WORKER_DEFAULTS, type WorkerConfig } from '../../src/worker/config.js';
import { ErrorType } from '../../src/shared/errors.js';
import { TAG_DEPLOY_ID, TAG_SHA } from '../../src/shared/names.js';
import type { CheckRolloutInput, RegisterInput, RolloutSnapshot } from '../../src/shared/types.js';
import {
  MOTO_CREDENTIALS,
  setNextRollout,
  startMoto,
  type MotoServer,
  type RolloutOutcome,
} from '../../src/devstack/moto.js';
import { seedEcs, type SeedResult } from '../../src/devstack/seed.js';

const region = 'us-east-1';
const target = { region, cluster: 'apps', service: 'web', repository: 'web', containerName: 'web', family: 'web' };
const sha = 'a'.repeat(40);
const deployId = 'deploy-apps-web-aaaaaaa.run-1';
let config: WorkerConfig;

let moto: MotoServer;
let ecs: ECSClient;
let act: EcsActivities;
let seed: SeedResult;
let workspace: string;
const savedEnv = { ...process.env };
// Failures are asserted on; the worker's "Activity failed" warnings would only repeat them.
const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

/** Runs an activity as the worker would, keeping its types. */
function run<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return env.run<[I], O, typeof fn>(fn, input);
}

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  const workDir = await mkdtemp(join(tmpdir(), 'ecs-test-'));
  // The template is read from the deploy's workspace, which exists here, so the (absent) source is never fetched.
  config = {
    sourceRepo: '/nonexistent',
    workDir,
    cacheDir: SHARED_CACHE_DIR,
    registryInsecure: false,
    imageBuilder: 'auto',
    sandbox: WORKER_DEFAULTS.sandbox,
    maxActivities: WORKER_DEFAULTS.maxActivities,
    maxWatches: WORKER_DEFAULTS.maxWatches,
    maxCachedWorkflows: WORKER_DEFAULTS.maxCachedWorkflows,
    ecsReadsPerSecond: WORKER_DEFAULTS.ecsReadsPerSecond,
    uiUrl: WORKER_DEFAULTS.uiUrl,
    telemetry: { logLevel: WORKER_DEFAULTS.logLevel },
    taskQueue: 'test',
  };
  workspace = join(workDir, 'workspaces', deployId);
  await mkdir(workspace, { recursive: true });
  act = ecsActivities(config);
  ecs = new ECSClient({ region, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
});

afterAll(async () => {
  ecs?.destroy();
  await moto?.stop();
  await rm(config.workDir, { recursive: true, force: true });
  process.env = savedEnv;
});

beforeEach(async () => {
  await moto.reset();
  seed = await seedEcs({ endpoint: moto.endpoint, ...target });
});

function registerInput(overrides: Partial<RegisterInput> = {}): RegisterInput {
  return {
    region,
    currentTaskDefinitionArn: seed.taskDefinitionArn,
    containerName: 'web',
    imageRef: `${seed.repositoryUri}:${sha}`,
    sha,
    deployId,
    ...overrides,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the activity to fail');
}

/** Registers a new revision and rolls the service onto it; the sim ends the rollout as told. */
async function deploy(outcome: RolloutOutcome, stepMs = 100) {
  await setNextRollout({ endpoint: moto.endpoint, region, serviceArn: seed.serviceArn, outcome, stepMs });
  const registered = await run(act.registerTaskDefinition, registerInput());
  const update = await run(act.updateService, { ...target, taskDefinitionArn: registered.taskDefinitionArn });
  const follow: CheckRolloutInput = { ...target, taskDefinitionArn: registered.taskDefinitionArn };
  if (update.deploymentId !== undefined) follow.deploymentId = update.deploymentId;
  return { registered, update, follow };
}

/** Reads the rollout until it ends, as the workflow does with timers. */
async function watch(input: CheckRolloutInput, timeoutMs = 15_000): Promise<RolloutSnapshot[]> {
  const seen: RolloutSnapshot[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snapshot = await run(act.checkRollout, input);
    seen.push(snapshot);
    if (snapshot.state !== 'in_progress') return seen;
    if (Date.now() > deadline) throw new Error(`rollout still in progress after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('describeTarget', () => {
  test('reads the revision the service runs and its PRIMARY deployment', async () => {
    const found = await run(act.describeTarget, target);
    expect(found).toMatchObject({
      serviceArn: seed.serviceArn,
      taskDefinitionArn: seed.taskDefinitionArn,
      desiredCount: 2,
    });
    expect(found.primaryDeploymentId).toMatch(/^ecs-svc\/\d+$/);
  });

  test('a missing cluster is a non-retryable NotFound naming the cluster', async () => {
    const failure = await failureOf(run(act.describeTarget, { ...target, cluster: 'nope' }));
    expect(failure.type).toBe(ErrorType.notFound);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('cluster: ECS cluster "nope" not found in us-east-1; fix ECS_CLUSTER');
  });

  test('a missing service is a non-retryable NotFound naming the service', async () => {
    const failure = await failureOf(run(act.describeTarget, { ...target, service: 'nope' }));
    expect(failure.type).toBe(ErrorType.notFound);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^service: ECS service "nope" not found in cluster "apps"/);
  });
});

describe('registerTaskDefinition', () => {
  test('from the current revision replaces only the image and tags the deploy', async () => {
    const result = await run(act.registerTaskDefinition, registerInput());
    expect(result.created).toBe(true);
    expect(result.taskDefinitionArn).toMatch(/task-definition\/web:2$/);
    expect(result.diff).toEqual([
      `containers[web].image: ${seed.repositoryUri}:initial -> ${seed.repositoryUri}:${sha}`,
    ]);

    const before = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: seed.taskDefinitionArn }));
    const after = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: result.taskDefinitionArn, include: ['TAGS'] }),
    );
    const expected = toTemplate(before.taskDefinition!);
    expected.containerDefinitions![0]!.image = `${seed.repositoryUri}:${sha}`;
    expect(toTemplate(after.taskDefinition!)).toEqual(expected);
    expect(after.tags).toEqual(
      expect.arrayContaining([
        { key: TAG_SHA, value: sha },
        { key: TAG_DEPLOY_ID, value: deployId },
      ]),
    );
  });

  test('a retry with the same deploy id returns the revision registered before', async () => {
    const first = await run(act.registerTaskDefinition, registerInput());
    const again = await run(act.registerTaskDefinition, registerInput());
    expect(again).toEqual({ ...first, created: false });
    const other = await run(act.registerTaskDefinition, registerInput({ deployId: 'another-deploy' }));
    expect(other.created).toBe(true);
    expect(other.taskDefinitionArn).toMatch(/:3$/);
  });

  test('a template file sets the sizes and the diff shows them', async () => {
    const template = {
      family: 'web',
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: 512,
      memory: '1 GB',
      containerDefinitions: [{ name: 'web', image: 'placeholder', essential: true }],
    };
    await writeFile(join(workspace, 'taskdef.json'), JSON.stringify(template));
    const result = await run(act.registerTaskDefinition, registerInput({ taskDefinitionPath: 'taskdef.json' }));
    expect(result.created).toBe(true);
    expect(result.diff).toEqual(expect.arrayContaining(['cpu: 256 -> 512', 'memory: 512 -> 1024']));
    expect(result.diff).toContain(
      `containers[web].image: ${seed.repositoryUri}:initial -> ${seed.repositoryUri}:${sha}`,
    );
  });

  const base = { family: 'web', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512' };
  const container = { name: 'web', image: 'x', essential: true };
  test.each([
    {
      name: 'a missing template file',
      file: 'missing.json',
      body: null,
      field: 'taskDefinitionPath',
      why: /does not exist/,
    },
    {
      name: 'a template that is not JSON',
      file: 'broken.json',
      body: '{ "family": ',
      field: 'taskDefinitionPath',
      why: /not valid JSON/,
    },
    {
      name: 'a template without the container',
      file: 'other.json',
      body: { ...base, containerDefinitions: [{ ...container, name: 'api' }] },
      field: 'containerName',
      why: /no container named "web" \(containers: "api"\)/,
    },
    {
      name: 'a Fargate memory the cpu does not allow',
      file: 'big.json',
      body: { ...base, memory: '4096', containerDefinitions: [container] },
      field: 'memory',
      why: /cpu 256 takes memory 512, 1024, 2048 \(MiB\); got 4096/,
    },
    {
      name: 'a cpu Fargate does not offer',
      file: 'odd.json',
      body: { ...base, cpu: '300', containerDefinitions: [container] },
      field: 'cpu',
      why: /Fargate offers cpu 256, 512, .*; got 300/,
    },
  ])('$name is a non-retryable InvalidInput naming $field', async ({ file, body, field, why }) => {
    if (body !== null) await writeFile(join(workspace, file), typeof body === 'string' ? body : JSON.stringify(body));
    const failure = await failureOf(run(act.registerTaskDefinition, registerInput({ taskDefinitionPath: file })));
    expect(failure.type).toBe(ErrorType.invalidInput);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(
      new RegExp(`^failed to register a task definition from ${file}: invalid ${field}: `),
    );
    expect(failure.message).toMatch(why);
    expect(failure.details).toEqual([{ field }]);
  });

  test('a template committed as a link to /dev/zero is a one-line InvalidInput, read no further, and nothing registered', async () => {
    await symlink('/dev/zero', join(workspace, 'zero.json'));
    const failure = await failureOf(
      run(act.registerTaskDefinition, registerInput({ taskDefinitionPath: 'zero.json' })),
    );
    expect(failure.type).toBe(ErrorType.invalidInput);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      'failed to register a task definition from zero.json: invalid taskDefinitionPath: "zero.json" is a symbolic link; commit the file itself',
    );
    const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }));
    expect(taskDefinition?.taskDefinitionArn).toBe(seed.taskDefinitionArn);
  });
});

describe('updateService and checkRollout', () => {
  test('a rollout is in progress with rising running counts, then completes', async () => {
    const { update, follow } = await deploy('succeed', 300);
    expect(update).toMatchObject({ previousTaskDefinitionArn: seed.taskDefinitionArn, changed: true });
    expect(update.deploymentId).toMatch(/^ecs-svc\//);

    const seen = await watch(follow, 10_000);
    const first = seen[0]!;
    const last = seen[seen.length - 1]!;
    expect(first).toMatchObject({
      state: 'in_progress',
      rolloutState: 'IN_PROGRESS',
      desired: 2,
      running: 0,
      pending: 2,
    });
    expect(first.events[0]?.message).toMatch(/^\(service web\)/);
    expect(last).toMatchObject({
      state: 'completed',
      rolloutState: 'COMPLETED',
      deploymentId: update.deploymentId,
      running: 2,
    });
    expect(last.events[0]?.message).toBe('(service web) has reached a steady state.');
    const running = seen.map((s) => s.running);
    expect(running).toEqual([...running].sort((a, b) => a - b));
    expect(running).toContain(1);
  });

  test('a retried update on the revision already set changes nothing', async () => {
    const { registered, update } = await deploy('hang');
    const retry = await run(act.updateService, { ...target, taskDefinitionArn: registered.taskDefinitionArn });
    expect(update.serviceDeploymentArn).toMatch(/:service-deployment\/apps\/web\//);
    expect(retry).toEqual({
      previousTaskDefinitionArn: seed.taskDefinitionArn,
      deploymentId: update.deploymentId,
      serviceDeploymentArn: update.serviceDeploymentArn,
      changed: false,
    });
  });

  test('a failed rollout reports the circuit breaker and why the tasks stopped', async () => {
    const { follow } = await deploy('fail');
    const last = (await watch(follow)).pop()!;
    expect(last).toMatchObject({
      state: 'failed',
      rolloutState: 'FAILED',
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      running: 0,
    });
    expect(last.failedTasks).toBeGreaterThanOrEqual(3);
    expect(last.stoppedTasks.length).toBeGreaterThanOrEqual(3);
    expect(last.stoppedTasks[0]).toMatchObject({
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'web', exitCode: 1 }],
    });
  });

  test('the rollback after a failed rollout succeeds, because the sim consumed the outcome tag', async () => {
    const { follow } = await deploy('fail');
    await watch(follow);
    const back = await run(act.updateService, { ...target, taskDefinitionArn: seed.taskDefinitionArn });
    expect(back).toMatchObject({ previousTaskDefinitionArn: follow.taskDefinitionArn, changed: true });
    const last = (
      await watch({ ...follow, taskDefinitionArn: seed.taskDefinitionArn, deploymentId: back.deploymentId! })
    ).pop()!;
    expect(last.state).toBe('completed');
  });

  test('a circuit-breaker rollback reads as rolled_back and the service runs the old revision again', async () => {
    const { follow } = await deploy('rollback');
    const last = (await watch(follow)).pop()!;
    expect(last.state).toBe('rolled_back');
    expect(last.stoppedTasks[0]?.containers[0]?.exitCode).toBe(1);
    const now = await run(act.describeTarget, target);
    expect(now.taskDefinitionArn).toBe(seed.taskDefinitionArn);
  });
});

describe('deregisterTaskDefinition', () => {
  test('deregistering twice works, and the service can no longer move to that revision', async () => {
    const { taskDefinitionArn } = await run(act.registerTaskDefinition, registerInput());
    await run(act.deregisterTaskDefinition, { region, taskDefinitionArn });
    await run(act.deregisterTaskDefinition, { region, taskDefinitionArn });
    const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }));
    expect(described.taskDefinition?.status).toBe('INACTIVE');

    const failure = await failureOf(run(act.updateService, { ...target, taskDefinitionArn }));
    expect(failure.type).toBe(ErrorType.invalidInput);
    expect(failure.message).toMatch(/TaskDefinition is inactive$/);
  });

  test('the family resolves to its latest ACTIVE revision, as on ECS', async () => {
    const { taskDefinitionArn } = await run(act.registerTaskDefinition, registerInput());
    await run(act.deregisterTaskDefinition, { region, taskDefinitionArn });
    const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }));
    expect(latest.taskDefinition?.taskDefinitionArn).toBe(seed.taskDefinitionArn);
  });
});
