/**
 * The emulator's service-deployment records and operations: what CreateService and UpdateService
 * create, and how List/DescribeServiceDeployments and DescribeServiceRevisions answer.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
} from '@aws-sdk/client-ecs';
import { startMoto, type MotoServer } from '../../src/devstack/moto.js';
import { EcsSim } from '../support/ecs-sim.js';

let moto: MotoServer;
let sim: EcsSim;

beforeAll(async () => {
  moto = await startMoto({ stepMs: 20 });
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

const ARN_PREFIX = 'arn:aws:ecs:us-east-1:123456789012';

describe('CreateService and UpdateService', () => {
  test('create records a finished service deployment and revision; an update answers with the new ones', async () => {
    const created = await sim.createService({ name: 'web', sim: { 'step-ms': '5000' } });
    expect(created.currentServiceDeployment).toMatch(
      new RegExp(`^${ARN_PREFIX}:service-deployment/sim/web/[A-Za-z0-9]{21}$`),
    );
    const [initial] = created.currentServiceRevisions!;
    expect(initial).toEqual({
      arn: expect.stringMatching(new RegExp(`^${ARN_PREFIX}:service-revision/sim/web/\\d+$`)) as string,
      requestedTaskCount: 2,
      runningTaskCount: 2,
      pendingTaskCount: 0,
    });
    expect(await sim.describe(created.currentServiceDeployment!)).toMatchObject({ status: 'SUCCESSFUL' });

    const updated = await sim.deploy('web');
    expect(updated.currentServiceDeployment).not.toBe(created.currentServiceDeployment);
    const target = updated.currentServiceRevisions!.find((r) => r.arn !== initial!.arn);
    expect(updated.currentServiceRevisions).toEqual([
      { arn: target!.arn, requestedTaskCount: 2, runningTaskCount: 0, pendingTaskCount: 2 },
      { ...initial, arn: initial!.arn },
    ]);
    // The revision's id is the number in the id of its deployments[] entry.
    const primary = updated.deployments!.find((d) => d.status === 'PRIMARY')!;
    expect(target!.arn!.split('/').pop()).toBe(primary.id!.split('/').pop());
    expect(await sim.describe(updated.currentServiceDeployment!)).toMatchObject({
      status: 'PENDING',
      targetServiceRevision: { arn: target!.arn },
      sourceServiceRevisions: [{ arn: initial!.arn, runningTaskCount: 2 }],
    });
  });

  test('the deployment configuration with strategy and hooks is kept on create and on update', async () => {
    const configuration: DeploymentConfiguration = {
      strategy: 'LINEAR',
      bakeTimeInMinutes: 3,
      linearConfiguration: { stepPercent: 20, stepBakeTimeInMinutes: 2 },
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          timeoutConfiguration: { timeoutInMinutes: 10, action: 'CONTINUE' },
        },
      ],
      deploymentCircuitBreaker: { enable: true, rollback: true },
    };
    await sim.createService({ name: 'web', configuration });
    expect((await sim.describeService('web')).deploymentConfiguration).toEqual(configuration);

    const canary: DeploymentConfiguration = {
      strategy: 'CANARY',
      canaryConfiguration: { canaryPercent: 5, canaryBakeTimeInMinutes: 10 },
    };
    const updated = await sim.ecs.send(
      new UpdateServiceCommand({ cluster: sim.cluster, service: 'web', deploymentConfiguration: canary }),
    );
    expect(updated.service?.deploymentConfiguration).toEqual(canary);
    expect((await sim.describeService('web')).deploymentConfiguration).toEqual(canary);
  });

  test('forceNewDeployment rolls out the same revision as a new service deployment', async () => {
    const created = await sim.createService({ name: 'web' });
    const forced = await sim.ecs.send(
      new UpdateServiceCommand({ cluster: sim.cluster, service: 'web', forceNewDeployment: true }),
    );
    const arn = forced.service!.currentServiceDeployment!;
    expect(arn).not.toBe(created.currentServiceDeployment);
    expect(forced.service!.deployments!.map((d) => [d.status, d.taskDefinition])).toEqual([
      ['PRIMARY', sim.first],
      ['ACTIVE', sim.first],
    ]);
    expect(await sim.finished(arn)).toMatchObject({ status: 'SUCCESSFUL' });
  });

  test('an update during a rollout stops that rollout and names the deployment that replaced it', async () => {
    await sim.createService({ name: 'web', sim: { 'next-rollout': 'hang' } });
    const first = (await sim.deploy('web')).currentServiceDeployment!;
    await sim.watch(first, (d) => d.status === 'IN_PROGRESS');
    const second = (await sim.deploy('web', sim.first)).currentServiceDeployment!;
    expect(await sim.describe(first)).toMatchObject({
      status: 'STOPPED',
      statusReason: `Service deployment was superseded by ${second}.`,
    });
    expect(await sim.finished(second)).toMatchObject({ status: 'SUCCESSFUL' });
  });

  test('a rollout tag the emulator does not know refuses the update, naming the tag, and changes nothing', async () => {
    await sim.createService({ name: 'web', sim: { 'next-rollout': 'explode' } });
    await expect(sim.deploy('web')).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: "tag sim:next-rollout must be one of succeed, fail, rollback, rollback-fail, alarm, hang; got 'explode'",
    });
    const service = await sim.describeService('web');
    expect(service.taskDefinition).toBe(sim.first);
    expect(service.deployments).toHaveLength(1);
  });

  test('a CODE_DEPLOY service is created and described, has no service deployments, and refuses a new revision', async () => {
    const created = await sim.createService({ name: 'cd', controller: 'CODE_DEPLOY' });
    expect(created.deploymentController).toEqual({ type: 'CODE_DEPLOY' });
    expect(created.currentServiceDeployment).toBeUndefined();
    expect((await sim.describeService('cd')).deploymentController).toEqual({ type: 'CODE_DEPLOY' });
    await expect(sim.deploy('cd')).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message:
        'Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.',
    });
    const listed = await sim.ecs.send(new ListServiceDeploymentsCommand({ cluster: sim.cluster, service: 'cd' }));
    expect(listed.serviceDeployments).toEqual([]);
  });
});

describe('reading service deployments', () => {
  test('ListServiceDeployments lists newest first, filters by status and time, and pages', async () => {
    await sim.createService({ name: 'web', sim: { 'step-ms': '5000' } });
    const created = (await sim.describeService('web')).currentServiceDeployment!;
    const between = new Date();
    await new Promise((r) => setTimeout(r, 20));
    const updated = (await sim.deploy('web')).currentServiceDeployment!;
    const list = (input: Partial<ConstructorParameters<typeof ListServiceDeploymentsCommand>[0]>) =>
      sim.ecs.send(new ListServiceDeploymentsCommand({ cluster: sim.cluster, service: 'web', ...input }));

    expect((await list({})).serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([updated, created]);
    const pending = await list({ status: ['PENDING', 'IN_PROGRESS'] });
    expect(pending.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([updated]);
    const before = await list({ createdAt: { before: between } });
    expect(before.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([created]);

    const page = await list({ maxResults: 1 });
    expect(page.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([updated]);
    const next = await list({ maxResults: 1, nextToken: page.nextToken! });
    expect(next.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([created]);
    expect(next.nextToken).toBeUndefined();
    await expect(list({ maxResults: 101 })).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(list({ service: 'absent' })).rejects.toMatchObject({ name: 'ServiceNotFoundException' });
  });

  test('DescribeServiceDeployments reports unknown ARNs as failures and takes at most 20', async () => {
    const arn = (await sim.createService({ name: 'web' })).currentServiceDeployment!;
    const unknown = `${arn.slice(0, -3)}xyz`;
    const found = await sim.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn, unknown] }));
    expect(found.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([arn]);
    expect(found.failures).toEqual([{ arn: unknown, reason: 'MISSING', detail: expect.any(String) as string }]);
    await expect(
      sim.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: Array(21).fill(arn) })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'serviceDeploymentArns takes at most 20 ARNs; got 21',
    });
  });

  test('DescribeServiceRevisions tells the task definition and images of each revision', async () => {
    await sim.createService({ name: 'web' });
    const updated = await sim.deploy('web');
    const arns = updated.currentServiceRevisions!.map((r) => r.arn!);
    const found = await sim.ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: arns }));
    expect(found.serviceRevisions!.map((r) => [r.taskDefinition, r.containerImages])).toEqual([
      [sim.second, [{ containerName: 'web', image: 'web:2' }]],
      [sim.first, [{ containerName: 'web', image: 'web:1' }]],
    ]);
    expect(found.serviceRevisions![0]).toMatchObject({ launchType: 'FARGATE', serviceArn: updated.serviceArn });
  });
});

describe('RegisterTaskDefinition', () => {
  test('under awsvpc networking a port mapping is stored with its hostPort equal to its containerPort, as ECS does', async () => {
    const registered = await sim.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'ports',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [
          { name: 'app', image: 'app:1', portMappings: [{ containerPort: 8080, protocol: 'tcp' }] },
        ],
      }),
    );
    const described = await sim.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: registered.taskDefinition?.taskDefinitionArn }),
    );
    expect(described.taskDefinition?.containerDefinitions?.[0]?.portMappings).toEqual([
      { containerPort: 8080, hostPort: 8080, protocol: 'tcp' },
    ]);
  });
});
