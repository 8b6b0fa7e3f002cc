/**
 * The emulator's rollouts by strategy, lifecycle hook and outcome, read through the service-deployment
 * API as a client of real ECS would. Time is compressed with the sim:step-ms and sim:minute-ms tags.
 */
import {
  ContinueServiceDeploymentCommand,
  StopServiceDeploymentCommand,
  type DeploymentLifecycleHookStage,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { startMoto, type MotoServer } from '../../src/devstack/moto.js';
import { EcsSim, distinct } from '../support/ecs-sim.js';

let moto: MotoServer;
let sim: EcsSim;

beforeAll(async () => {
  moto = await startMoto();
  sim = new EcsSim(moto.endpoint);
});

afterAll(async () => {
  sim?.destroy();
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
  await sim.setUp();
});

const STAGES = [
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
];

function time(date: Date | undefined): number {
  return date?.getTime() ?? NaN;
}

describe('strategies', () => {
  test('a blue/green deployment passes every lifecycle stage in order and bakes before it is SUCCESSFUL', async () => {
    const minuteMs = 400;
    // A PAUSE hook at every stage that takes one holds the deployment there until the test has read it.
    const hookable = STAGES.filter(
      (s) => !['SCALE_UP', 'BAKE_TIME', 'CLEAN_UP'].includes(s),
    ) as DeploymentLifecycleHookStage[];
    await sim.createService({
      name: 'bg',
      configuration: {
        strategy: 'BLUE_GREEN',
        bakeTimeInMinutes: 2,
        lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: hookable }],
      },
      sim: { 'step-ms': '50', 'minute-ms': String(minuteMs) },
    });
    const arn = (await sim.deploy('bg')).currentServiceDeployment!;
    const paused: ServiceDeployment[] = [];
    for (let stage = 0; stage < hookable.length; stage++) {
      const { hookId, deployment } = await sim.awaiting(arn);
      paused.push(deployment);
      await sim.ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId }));
    }
    const continued = Date.now();
    const seen = await sim.watch(arn, (d) => d.status === 'SUCCESSFUL');

    expect(paused.map((d) => d.lifecycleStage)).toEqual(hookable);
    const weights = paused.map((d) => [
      d.targetServiceRevision?.runningTaskCount,
      d.targetServiceRevision?.requestedTestTrafficWeight,
      d.targetServiceRevision?.requestedProductionTrafficWeight,
    ]);
    // [new tasks running, test traffic %, production traffic %] at each stage
    expect(weights).toEqual([
      [0, 0, 0],
      [2, 0, 0],
      [2, 100, 0],
      [2, 100, 0],
      [2, 100, 100],
      [2, 100, 100],
    ]);
    const stages = distinct([...paused, ...seen], (d) => d.lifecycleStage);
    expect(stages.map((s) => STAGES.indexOf(s))).toEqual(
      [...stages.map((s) => STAGES.indexOf(s))].sort((a, b) => a - b),
    );
    expect(stages).toEqual(expect.arrayContaining(['BAKE_TIME', 'CLEAN_UP']));
    const last = seen[seen.length - 1]!;
    expect(last).toMatchObject({ status: 'SUCCESSFUL', lifecycleStage: 'CLEAN_UP' });
    expect(time(last.finishedAt) - continued).toBeGreaterThanOrEqual(2 * minuteMs);
    expect(last.sourceServiceRevisions![0]).toMatchObject({ requestedProductionTrafficWeight: 0, runningTaskCount: 0 });
    const service = await sim.describeService('bg');
    expect(service.deployments).toMatchObject([
      { status: 'PRIMARY', rolloutState: 'COMPLETED', taskDefinition: sim.second },
    ]);
  });

  test('a linear deployment shifts production traffic step by step, running its hook at every step', async () => {
    await sim.createService({
      name: 'linear',
      configuration: {
        strategy: 'LINEAR',
        linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 1 },
        lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['PRODUCTION_TRAFFIC_SHIFT'] }],
      },
      sim: { 'step-ms': '20', 'minute-ms': '20' },
    });
    const arn = (await sim.deploy('linear')).currentServiceDeployment!;
    const weights: [number | undefined, number | undefined][] = [];
    for (let step = 0; step < 4; step++) {
      const { hookId, deployment } = await sim.awaiting(arn);
      expect(deployment.lifecycleStage).toBe('PRODUCTION_TRAFFIC_SHIFT');
      weights.push([
        deployment.targetServiceRevision?.requestedProductionTrafficWeight,
        deployment.sourceServiceRevisions?.[0]?.requestedProductionTrafficWeight,
      ]);
      await sim.ecs.send(
        new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action: 'CONTINUE' }),
      );
    }
    expect(weights).toEqual([
      [25, 75],
      [50, 50],
      [75, 25],
      [100, 0],
    ]);
    const last = await sim.finished(arn);
    expect(last.status).toBe('SUCCESSFUL');
    expect(last.lifecycleHookDetails?.map((h) => h.status)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
  });

  test('a canary deployment holds the canary share for its bake time, then takes all traffic', async () => {
    await sim.createService({
      name: 'canary',
      configuration: { strategy: 'CANARY', canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 1 } },
      sim: { 'step-ms': '30', 'minute-ms': '600' },
    });
    const arn = (await sim.deploy('canary')).currentServiceDeployment!;
    const seen = await sim.watch(arn, (d) => d.status === 'SUCCESSFUL');
    const shifting = seen.filter((d) => d.lifecycleStage === 'PRODUCTION_TRAFFIC_SHIFT');
    const shares = distinct(shifting, (d) => d.targetServiceRevision?.requestedProductionTrafficWeight);
    expect(shares[0]).toBe(10);
    expect(shares.filter((w) => w !== 10 && w !== 100)).toEqual([]);
    const canary = shifting.filter((d) => d.targetServiceRevision?.requestedProductionTrafficWeight === 10);
    expect(canary.length).toBeGreaterThan(3); // read many times during the 600 ms bake
    expect(seen[seen.length - 1]!.targetServiceRevision?.requestedProductionTrafficWeight).toBe(100);
  });
});

describe('PAUSE hooks', () => {
  const pauseAfterScaleUp = (timeoutInMinutes: number, action: 'CONTINUE' | 'ROLLBACK') => ({
    strategy: 'BLUE_GREEN' as const,
    bakeTimeInMinutes: 0,
    lifecycleHooks: [
      {
        targetType: 'PAUSE' as const,
        lifecycleStages: ['POST_SCALE_UP' as const],
        timeoutConfiguration: { timeoutInMinutes, action },
      },
    ],
  });

  test('a deployment waits at the hook until it is continued, and the hook cannot be continued twice', async () => {
    await sim.createService({
      name: 'paused',
      configuration: pauseAfterScaleUp(60, 'ROLLBACK'),
      sim: { 'step-ms': '20', 'minute-ms': '1000' },
    });
    const arn = (await sim.deploy('paused')).currentServiceDeployment!;
    const { hookId, deployment } = await sim.awaiting(arn);
    expect(hookId).toMatch(/^ecs-pause-[\w-]{43}$/);
    expect(deployment.lifecycleHookDetails).toEqual([
      {
        hookId,
        targetType: 'PAUSE',
        status: 'AWAITING_ACTION',
        expiresAt: expect.any(Date) as Date,
        timeoutAction: 'ROLLBACK',
      },
    ]);
    // 60 configured minutes of 1 s each, from when the stage began.
    expect(time(deployment.lifecycleHookDetails![0]!.expiresAt) - time(deployment.updatedAt)).toBeGreaterThan(55_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await sim.describe(arn)).toMatchObject({ status: 'IN_PROGRESS', lifecycleStage: 'POST_SCALE_UP' });

    await sim.ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action: 'CONTINUE' }));
    const last = await sim.finished(arn);
    expect(last).toMatchObject({ status: 'SUCCESSFUL', lifecycleHookDetails: [{ hookId, status: 'SUCCEEDED' }] });
    await expect(
      sim.ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action: 'CONTINUE' })),
    ).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/is SUCCEEDED .* only a PAUSE hook in AWAITING_ACTION/) as string,
    });
  });

  test('continuing a hook with ROLLBACK rolls the deployment back to the source revision', async () => {
    await sim.createService({
      name: 'paused',
      configuration: pauseAfterScaleUp(60, 'CONTINUE'),
      sim: { 'step-ms': '20' },
    });
    const updated = await sim.deploy('paused');
    const arn = updated.currentServiceDeployment!;
    const { hookId, deployment } = await sim.awaiting(arn);
    await sim.ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action: 'ROLLBACK' }));
    const last = await sim.finished(arn);
    const source = deployment.sourceServiceRevisions![0]!.arn!;
    expect(last).toMatchObject({
      status: 'ROLLBACK_SUCCESSFUL',
      rollback: {
        serviceRevisionArn: source,
        reason: `Lifecycle hook ${hookId} at POST_SCALE_UP was answered with ROLLBACK.`,
      },
      lifecycleHookDetails: [{ hookId, status: 'FAILED' }],
    });
    const service = await sim.describeService('paused');
    expect(service.taskDefinition).toBe(sim.first);
    expect(service.currentServiceRevisions).toEqual([
      { arn: source, requestedTaskCount: 2, runningTaskCount: 2, pendingTaskCount: 0 },
    ]);
  });

  test.each([
    { action: 'CONTINUE' as const, ends: 'SUCCESSFUL' },
    { action: 'ROLLBACK' as const, ends: 'ROLLBACK_SUCCESSFUL' },
  ])(
    'a hook nobody answers times out and its timeout action $action applies, dated when it was due',
    async ({ action, ends }) => {
      const minuteMs = 100;
      await sim.createService({
        name: 'timeout',
        configuration: pauseAfterScaleUp(2, action),
        sim: { 'step-ms': '20', 'minute-ms': String(minuteMs) },
      });
      const arn = (await sim.deploy('timeout')).currentServiceDeployment!;
      const { hookId } = await sim.awaiting(arn);
      await new Promise((r) => setTimeout(r, 2 * minuteMs + 400)); // nobody reads meanwhile
      const readAt = Date.now();
      const last = await sim.describe(arn);
      expect(last.status).toBe(ends);
      const hook = last.lifecycleHookDetails![0]!;
      expect(hook).toMatchObject({ hookId, status: 'TIMED_OUT', timeoutAction: action });
      // Everything after the timeout happened at its due time, not when it was first read.
      expect(time(last.finishedAt)).toBeGreaterThanOrEqual(time(hook.expiresAt));
      expect(time(last.finishedAt)).toBeLessThan(readAt - 150);
      if (action === 'ROLLBACK') {
        expect(time(last.rollback?.startedAt)).toBe(time(hook.expiresAt));
        expect(last.rollback?.reason).toBe(`Lifecycle hook ${hookId} at POST_SCALE_UP timed out.`);
      }
    },
  );
});

describe('outcomes', () => {
  test('a circuit-breaker rollback trips after the threshold and ECS rolls back by itself, once', async () => {
    await sim.createService({
      name: 'web',
      configuration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      sim: { 'next-rollout': 'rollback', 'step-ms': '300' },
    });
    const arn = (await sim.deploy('web')).currentServiceDeployment!;
    const seen = await sim.watch(arn, (d) => d.status === 'ROLLBACK_SUCCESSFUL');
    expect(distinct(seen, (d) => d.status)).toEqual([
      'PENDING',
      'IN_PROGRESS',
      'ROLLBACK_REQUESTED',
      'ROLLBACK_IN_PROGRESS',
      'ROLLBACK_SUCCESSFUL',
    ]);
    const last = seen[seen.length - 1]!;
    expect(last).toMatchObject({
      deploymentCircuitBreaker: { status: 'TRIGGERED', failureCount: 3, threshold: 3 },
      rollback: { reason: 'ECS deployment circuit breaker: tasks failed to start.' },
      statusReason: 'ECS deployment circuit breaker: tasks failed to start.',
    });
    const service = await sim.describeService('web');
    expect(service.deployments).toMatchObject([
      { status: 'PRIMARY', rolloutState: 'COMPLETED', taskDefinition: sim.first },
    ]);
    // Once: no further deployment follows the rollback.
    await new Promise((r) => setTimeout(r, 200));
    expect((await sim.describeService('web')).currentServiceDeployment).toBe(arn);
  });

  test('a breaker trip without rollback stops the deployment where it is', async () => {
    await sim.createService({ name: 'web', sim: { 'next-rollout': 'fail', 'step-ms': '20' } });
    const arn = (await sim.deploy('web')).currentServiceDeployment!;
    const last = await sim.finished(arn);
    expect(last).toMatchObject({
      status: 'STOPPED',
      deploymentCircuitBreaker: { status: 'TRIGGERED', failureCount: 3 },
    });
    expect(last.stoppedAt).toEqual(last.finishedAt);
    expect(last.rollback).toBeUndefined();
    const service = await sim.describeService('web');
    expect(service.deployments?.[0]).toMatchObject({
      status: 'PRIMARY',
      rolloutState: 'FAILED',
      taskDefinition: sim.second,
    });
  });

  test('an alarm going off after the traffic shift rolls the deployment back and names the alarm', async () => {
    await sim.createService({
      name: 'web',
      configuration: { strategy: 'CANARY', canaryConfiguration: { canaryPercent: 20, canaryBakeTimeInMinutes: 0 } },
      sim: { 'next-rollout': 'alarm', 'alarm-name': 'web-5xx', 'step-ms': '20' },
    });
    const arn = (await sim.deploy('web')).currentServiceDeployment!;
    const last = await sim.finished(arn);
    expect(last).toMatchObject({
      status: 'ROLLBACK_SUCCESSFUL',
      lifecycleStage: 'BAKE_TIME',
      alarms: { status: 'TRIGGERED', alarmNames: ['web-5xx'], triggeredAlarmNames: ['web-5xx'] },
      rollback: { reason: 'ECS deployment alarm web-5xx is in ALARM state.' },
      targetServiceRevision: { requestedProductionTrafficWeight: 0 },
    });
  });

  test('StopServiceDeployment with ROLLBACK rolls an ongoing deployment back; a finished one cannot be stopped', async () => {
    // Steps long enough that ROLLBACK_REQUESTED is still there when read right after the stop.
    await sim.createService({ name: 'web', sim: { 'next-rollout': 'hang', 'step-ms': '500' } });
    const arn = (await sim.deploy('web')).currentServiceDeployment!;
    await sim.watch(arn, (d) => d.targetServiceRevision?.runningTaskCount === 1);
    await sim.ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }));
    expect((await sim.describe(arn)).status).toBe('ROLLBACK_REQUESTED');
    const last = await sim.finished(arn);
    expect(last).toMatchObject({
      status: 'ROLLBACK_SUCCESSFUL',
      rollback: { reason: 'Service deployment rolled back by StopServiceDeployment (ROLLBACK).' },
    });
    expect((await sim.describeService('web')).taskDefinition).toBe(sim.first);
    await expect(
      sim.ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' })),
    ).rejects.toMatchObject({ name: 'ConflictException' });
  });

  test('StopServiceDeployment with ABORT stops the deployment where it is, without a rollback', async () => {
    await sim.createService({ name: 'web', sim: { 'next-rollout': 'hang', 'step-ms': '300' } });
    const arn = (await sim.deploy('web')).currentServiceDeployment!;
    await sim.watch(arn, (d) => d.targetServiceRevision?.runningTaskCount === 1);
    await sim.ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ABORT' }));
    const last = await sim.finished(arn);
    expect(last).toMatchObject({ status: 'STOPPED', targetServiceRevision: { runningTaskCount: 1 } });
    expect(last.rollback).toBeUndefined();
    const service = await sim.describeService('web');
    expect(service.taskDefinition).toBe(sim.second);
    expect(service.deployments?.[0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'FAILED', runningCount: 1 });
  });
});
