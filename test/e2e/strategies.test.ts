/**
 * ECS as it is now, through the CLI on the local stack: the service-deployment record as the truth, ECS's own
 * blue/green and linear rollouts, ECS's own rollback, and services this tool refuses. Extra services of the app's
 * task family are created next to local/hello, each with the deployment configuration under test.
 */
import {
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ListServiceDeploymentsCommand,
  TagResourceCommand,
  type DeploymentConfiguration,
  type DeploymentControllerType,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { ROOT, startService, type Service } from '../../src/devstack/process.js';
import { manifestExists } from '../support/registry.js';
import { deployctl, type Stack } from '../../src/devstack/stack.js';
import type { DeployResult, RolloutSnapshot } from '../../src/shared/types.js';
import { startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

let app: AppStack | undefined;
let stack: Stack;
let source: SourceRepo;
let ecs: ECSClient;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  app = await startAppStack();
  ({ stack, source, ecs } = app);
  connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS ?? '' });
  client = new Client({ connection });
}, 120_000);

/** A worker the hook test starts again after stopping the stack's own; stopped here by its pid. */
let restarted: Service | undefined;

afterAll(async () => {
  await restarted?.stop();
  await connection?.close();
  await app?.stop();
});

const cluster = () => stack.env.ECS_CLUSTER ?? '';

async function service(name: string) {
  const out = await ecs.send(new DescribeServicesCommand({ cluster: cluster(), services: [name] }));
  const svc = out.services?.[0];
  if (!svc) throw new Error(`service ${name} missing`);
  return svc;
}

/** A service of the app's task family, on the stack's first revision, with `sim:*` tags for its next rollout. */
async function createService(opts: {
  name: string;
  configuration?: DeploymentConfiguration;
  controller?: DeploymentControllerType;
  sim?: Record<string, string>;
}): Promise<void> {
  const hello = await service(stack.env.ECS_SERVICE ?? '');
  const first = hello.taskDefinition?.replace(/:\d+$/, ':1');
  await ecs.send(
    new CreateServiceCommand({
      cluster: cluster(),
      serviceName: opts.name,
      taskDefinition: first,
      desiredCount: 2,
      launchType: 'FARGATE',
      deploymentController: { type: opts.controller ?? 'ECS' },
      ...(opts.configuration ? { deploymentConfiguration: opts.configuration } : {}),
    }),
  );
  if (opts.sim) await tag(opts.name, opts.sim);
}

async function tag(name: string, sim: Record<string, string>): Promise<void> {
  const arn = (await service(name)).serviceArn;
  await ecs.send(
    new TagResourceCommand({
      resourceArn: arn,
      tags: Object.entries(sim).map(([key, value]) => ({ key: `sim:${key}`, value })),
    }),
  );
}

async function deploy(
  sha: string,
  serviceName: string,
): Promise<{ result: DeployResult; stderr: string; exitCode?: number }> {
  const run = await deployctl(stack, ['deploy', '--sha', sha, '--wait', '--json'], { ECS_SERVICE: serviceName });
  if (!run.stdout.trim()) throw new Error(`no result (${run.exitCode}): ${run.stderr}`);
  return { result: JSON.parse(run.stdout) as DeployResult, stderr: run.stderr, exitCode: run.exitCode };
}

async function serviceDeployment(arn: string) {
  const out = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
  const sd = out.serviceDeployments?.[0];
  if (!sd) throw new Error(`no service deployment ${arn}`);
  return sd;
}

/** Every rollout snapshot the deploy recorded: the results of its watchRollout activities, in order. */
async function recordedSnapshots(workflowId: string): Promise<RolloutSnapshot[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const out: RolloutSnapshot[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name) scheduled.set(String(e.eventId), s.activityType.name);
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.get(String(done.scheduledEventId)) === 'watchRollout') {
      const payload = done.result?.payloads?.[0];
      if (payload) out.push(defaultPayloadConverter.fromPayload<RolloutSnapshot>(payload));
    }
  }
  return out;
}

describe('ECS service deployments and strategies', () => {
  let sha: string;

  test('a rolling deploy names its service deployment, and observed agrees with DescribeServiceDeployments', async () => {
    sha = await source.commit('a rolling deploy');
    const { result, exitCode } = await deploy(sha, stack.env.ECS_SERVICE ?? '');
    expect(exitCode).toBe(0);
    expect(result.serviceDeploymentArn).toMatch(/^arn:aws:ecs:us-east-1:\d{12}:service-deployment\/local\/hello\//);
    const sd = await serviceDeployment(result.serviceDeploymentArn ?? '');
    expect(sd.status).toBe('SUCCESSFUL');
    expect(result.observed).toMatchObject({
      serviceDeploymentArn: sd.serviceDeploymentArn,
      serviceDeploymentStatus: sd.status,
      taskDefinitionArn: result.taskDefinitionArn,
    });
    expect((await service(stack.env.ECS_SERVICE ?? '')).currentServiceDeployment).toBe(result.serviceDeploymentArn);
  });

  test('a BLUE_GREEN service deploys through its traffic shifts and bake time to succeeded', async () => {
    await createService({
      name: 'hello-bg',
      configuration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 2 },
      // Stages longer than the deploy's one read a second, so each is seen; two minutes of bake last 3 s.
      sim: { 'minute-ms': '1500', 'step-ms': '1500' },
    });
    const { result, stderr, exitCode } = await deploy(sha, 'hello-bg');
    expect(exitCode).toBe(0);
    expect(result.status).toBe('succeeded');
    expect(stderr).toMatch(
      /local\/hello-bg rollout: IN_PROGRESS BLUE_GREEN BAKE_TIME, traffic 100% production \/ 100% test/,
    );
    const stages = (await recordedSnapshots(result.workflowId)).map((s) => s.lifecycleStage);
    expect(stages).toEqual(expect.arrayContaining(['TEST_TRAFFIC_SHIFT', 'PRODUCTION_TRAFFIC_SHIFT', 'BAKE_TIME']));
    const sd = await serviceDeployment(result.serviceDeploymentArn ?? '');
    expect(sd.status).toBe('SUCCESSFUL');
    expect(Date.parse(result.observed?.readAt ?? '')).toBeGreaterThanOrEqual(sd.finishedAt?.getTime() ?? Infinity);
  });

  test('a LINEAR service deploys through every traffic step, each recorded by the deploy', async () => {
    await createService({
      name: 'hello-linear',
      configuration: {
        strategy: 'LINEAR',
        bakeTimeInMinutes: 0,
        linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 1 },
      },
      sim: { 'minute-ms': '3000', 'step-ms': '1500' },
    });
    const { result, exitCode } = await deploy(sha, 'hello-linear');
    expect(exitCode).toBe(0);
    const weights = (await recordedSnapshots(result.workflowId))
      .filter((s) => s.lifecycleStage === 'PRODUCTION_TRAFFIC_SHIFT')
      .map((s) => s.traffic?.production);
    expect([...new Set(weights)]).toEqual([25, 50, 75, 100]);
    expect((await serviceDeployment(result.serviceDeploymentArn ?? '')).status).toBe('SUCCESSFUL');
  });

  test("a circuit-breaker rollback on a BLUE_GREEN service ends rolled_back with ECS's reason, and ECS rolls back once", async () => {
    const before = (await service('hello-bg')).taskDefinition;
    const broken = await source.commit('a commit whose tasks will not start');
    await tag('hello-bg', { 'next-rollout': 'rollback' });
    const { result, exitCode } = await deploy(broken, 'hello-bg');
    expect(exitCode).toBe(1);
    expect(result.status).toBe('rolled_back');
    expect(result.error?.message).toContain('was rolled back by ECS');
    expect(result.error?.message).toMatch(/circuit breaker tripped after \d+ failed tasks \(threshold \d+\)/);
    expect(result.rollback).toMatchObject({ method: 'ecs', restoredTaskDefinitionArn: before });
    expect(result.rollback?.reason).toContain('ECS rolled back: ECS deployment circuit breaker');
    // Exactly one rollback: ECS's own. No deployment after ours, so the deploy sent no update or stop of its own.
    const listed = await ecs.send(new ListServiceDeploymentsCommand({ cluster: cluster(), service: 'hello-bg' }));
    const newest = listed.serviceDeployments?.[0];
    expect(newest?.serviceDeploymentArn).toBe(result.serviceDeploymentArn);
    expect(newest?.status).toBe('ROLLBACK_SUCCESSFUL');
    expect((await service('hello-bg')).taskDefinition).toBe(before);
  });

  test('a cancel mid-rollout asks ECS to roll back (StopServiceDeployment), and ends cancelled', async () => {
    const before = (await service('hello-bg')).taskDefinition;
    const stuck = await source.commit('a commit whose rollout hangs');
    await tag('hello-bg', { 'next-rollout': 'hang' });
    const started = await deployctl(stack, ['deploy', '--sha', stuck, '--json'], { ECS_SERVICE: 'hello-bg' });
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    const handle = client.workflow.getHandle(workflowId);
    for (let i = 0; i < 240; i += 1) {
      const d = await handle.describe();
      if (d.raw.pendingActivities?.some((a) => a.activityType?.name === 'watchRollout')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const cancel = await deployctl(stack, ['cancel', workflowId, '--by', 'carol', '--reason', 'stuck'], {
      ECS_SERVICE: 'hello-bg',
    });
    expect(cancel.exitCode).toBe(0);
    const result = (await handle.result()) as DeployResult;
    expect(result.status).toBe('cancelled');
    expect(result.rollback).toMatchObject({ method: 'stop', restoredTaskDefinitionArn: before });
    const sd = await serviceDeployment(result.serviceDeploymentArn ?? '');
    expect(sd.status).toBe('ROLLBACK_SUCCESSFUL');
    expect((await service('hello-bg')).taskDefinition).toBe(before);
  });

  test('a CODE_DEPLOY service is refused at validate, saying what is supported, with nothing built', async () => {
    await createService({ name: 'hello-codedeploy', controller: 'CODE_DEPLOY' });
    const fresh = await source.commit('a commit nobody builds');
    const { result, exitCode } = await deploy(fresh, 'hello-codedeploy');
    expect(exitCode).toBe(1);
    expect(result.status).toBe('failed');
    expect(result.error?.stage).toBe('validate');
    expect(result.error?.message).toContain('uses the CODE_DEPLOY deployment controller');
    expect(result.error?.message).toContain('ROLLING, BLUE_GREEN, LINEAR or CANARY');
    expect(result.stages.map((s) => s.name)).toEqual(['validate']);
    expect(await manifestExists(stack.env.DEPLOY_REGISTRY ?? '', 'hello', fresh)).toBe(false);
  });
});

describe('approval at a PAUSE lifecycle hook, through deployctl', () => {
  const hooked = (name: string, timeoutInMinutes: number): Parameters<typeof createService>[0] => ({
    name,
    configuration: {
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 0,
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          timeoutConfiguration: { timeoutInMinutes, action: 'ROLLBACK' },
        },
      ],
    },
    // A configured minute lasts 2 s here, so a hook of 5 minutes expires after 10 s.
    sim: { 'minute-ms': '2000' },
  });

  async function tokenFile(as: string): Promise<string> {
    const run = await deployctl(stack, ['token', '--as', as]);
    if (run.exitCode !== 0) throw new Error(`deployctl token failed: ${run.stderr}`);
    const file = `${stack.dir}/token-${as}-${Date.now()}.jwt`;
    await writeFile(file, run.stdout.trim(), { mode: 0o600 });
    return file;
  }

  async function startOn(serviceName: string, message: string): Promise<string> {
    const sha = await source.commit(message);
    const run = await deployctl(stack, ['deploy', '--sha', sha, '--json'], { ECS_SERVICE: serviceName });
    if (run.exitCode !== 0) throw new Error(`deployctl deploy failed: ${run.stderr}`);
    return (JSON.parse(run.stdout) as { workflowId: string }).workflowId;
  }

  async function awaitingAtHook(workflowId: string, serviceName: string): Promise<DeployResult> {
    for (let i = 0; i < 360; i += 1) {
      const run = await deployctl(stack, ['status', workflowId, '--json'], { ECS_SERVICE: serviceName });
      const r = run.stdout.trim() ? (JSON.parse(run.stdout) as DeployResult) : undefined;
      if ((r?.status as string) === 'awaiting_approval' && r?.approval?.point === 'lifecycle_hook') return r;
      if (r && ['succeeded', 'failed', 'rolled_back', 'cancelled', 'superseded'].includes(r.status)) {
        throw new Error(`deploy ended ${r.status} before waiting at the hook: ${r.error?.message ?? ''}`);
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`${workflowId} never waited at the hook`);
  }

  test('a BLUE_GREEN service with a PAUSE hook at POST_TEST_TRAFFIC_SHIFT waits there in awaiting_approval, then succeeds once approved', async () => {
    await createService(hooked('hello-pause', 60));
    const workflowId = await startOn('hello-pause', 'a commit approved after test traffic');
    const waiting = await awaitingAtHook(workflowId, 'hello-pause');
    expect(waiting.approval).toMatchObject({
      required: true,
      state: 'pending',
      hook: { stage: 'POST_TEST_TRAFFIC_SHIFT', timeoutAction: 'ROLLBACK' },
    });
    expect(Date.parse(waiting.approval?.hook?.expiresAt ?? '')).toBeGreaterThan(Date.now());
    // ECS itself says the deployment waits at the hook.
    const sd = await serviceDeployment((await service('hello-pause')).currentServiceDeployment ?? '');
    expect(sd.lifecycleStage).toBe('POST_TEST_TRAFFIC_SHIFT');
    expect(sd.lifecycleHookDetails?.find((h) => h.status === 'AWAITING_ACTION')).toBeDefined();

    const approve = await deployctl(
      stack,
      ['approve', workflowId, '--token-file', await tokenFile('bob'), '--comment', 'test traffic is clean'],
      { ECS_SERVICE: 'hello-pause' },
    );
    expect(approve.exitCode).toBe(0);
    const result = (await client.workflow.getHandle(workflowId).result()) as DeployResult;
    expect(result.status).toBe('succeeded');
    expect(result.approval).toMatchObject({ state: 'approved', by: 'bob', proof: 'verified', point: 'lifecycle_hook' });
    expect((await serviceDeployment(result.serviceDeploymentArn ?? '')).status).toBe('SUCCESSFUL');
  });

  test('a second deploy to that service ends rolled_back after a rejection at the hook: ECS rolls back there', async () => {
    const before = (await service('hello-pause')).taskDefinition;
    const workflowId = await startOn('hello-pause', 'a commit rejected after test traffic');
    await awaitingAtHook(workflowId, 'hello-pause');
    const reject = await deployctl(
      stack,
      ['reject', workflowId, '--token-file', await tokenFile('carol'), '--comment', '5xx on the test listener'],
      { ECS_SERVICE: 'hello-pause' },
    );
    expect(reject.exitCode).toBe(0);
    const result = (await client.workflow.getHandle(workflowId).result()) as DeployResult;
    expect(result.status).toBe('rolled_back');
    expect(result.error).toMatchObject({ stage: 'approval', type: 'ApprovalRejected' });
    expect(result.error?.message).toContain('rejected by carol (verified): 5xx on the test listener');
    expect(result.rollback).toMatchObject({ method: 'hook', restoredTaskDefinitionArn: before });
    expect((await serviceDeployment(result.serviceDeploymentArn ?? '')).status).toBe('ROLLBACK_SUCCESSFUL');
    expect((await service('hello-pause')).taskDefinition).toBe(before);
  });

  test("likewise when the worker is stopped past the hook's timeout and started again: ECS decided, the deploy reports it", async () => {
    await createService(hooked('hello-pause-short', 5));
    const before = (await service('hello-pause-short')).taskDefinition;
    const workflowId = await startOn('hello-pause-short', 'a commit nobody answers in time');
    const waiting = await awaitingAtHook(workflowId, 'hello-pause-short');
    const expiresAt = Date.parse(waiting.approval?.hook?.expiresAt ?? '');

    // Stop the worker gracefully, wait past the hook's expiry, start it again with the same settings.
    const pid = await stack.workerPid();
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter((kv) => kv.includes('='));
    const env = {
      ...Object.fromEntries(environ.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      DEPLOY_SOURCE_REPO: source.dir,
    };
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i += 1) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 3_000));
    const logFile = `${stack.dir}/logs/worker-again.log`;
    restarted = await startService({
      name: 'worker-again',
      command: 'node',
      args: [`${ROOT}/dist/worker.js`],
      env,
      logFile,
    });

    const result = (await client.workflow.getHandle(workflowId).result()) as DeployResult;
    expect(result.status).toBe('rolled_back');
    expect(result.error?.message).toMatch(/lifecycle hook \S+ timed out/);
    expect(result.rollback).toMatchObject({ method: 'ecs', restoredTaskDefinitionArn: before });
    expect(result.approval).toMatchObject({ state: 'timed_out' });
    expect(result.approval?.comment).toContain('ECS applies its timeout action (ROLLBACK)');
    const sd = await serviceDeployment(result.serviceDeploymentArn ?? '');
    expect(sd.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(sd.lifecycleHookDetails?.map((h) => h.status)).toContain('TIMED_OUT');
    expect((await service('hello-pause-short')).taskDefinition).toBe(before);
  });
});
