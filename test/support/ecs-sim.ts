/**
 * Driving the ECS emulator (scripts/moto_sim/) through the real ECS API in tests of its service
 * deployments: a cluster with two revisions of one task definition, services made to order, and
 * reads of a service deployment until it reaches a state.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
  type DeploymentControllerType,
  type Service,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { MOTO_CREDENTIALS } from '../../src/devstack/moto.js';

export const ONGOING = ['PENDING', 'IN_PROGRESS', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS'];

export interface ServiceOptions {
  name: string;
  configuration?: DeploymentConfiguration;
  /** sim:* tags (without the prefix), e.g. { 'next-rollout': 'rollback', 'step-ms': '100' }. */
  sim?: Record<string, string>;
  controller?: DeploymentControllerType;
  desiredCount?: number;
}

export class EcsSim {
  readonly ecs: ECSClient;
  readonly cluster = 'sim';
  first = '';
  second = '';

  constructor(endpoint: string) {
    this.ecs = new ECSClient({ region: 'us-east-1', endpoint, credentials: MOTO_CREDENTIALS });
  }

  /** A fresh cluster with revisions 1 and 2 of the task definition "web" (after a server reset). */
  async setUp(): Promise<void> {
    await this.ecs.send(new CreateClusterCommand({ clusterName: this.cluster }));
    const register = async (image: string) => {
      const container = { name: 'web', image, memory: 128, essential: true };
      const found = await this.ecs.send(
        new RegisterTaskDefinitionCommand({ family: 'web', containerDefinitions: [container] }),
      );
      return found.taskDefinition?.taskDefinitionArn ?? '';
    };
    this.first = await register('web:1');
    this.second = await register('web:2');
  }

  async createService(opts: ServiceOptions): Promise<Service> {
    const created = await this.ecs.send(
      new CreateServiceCommand({
        cluster: this.cluster,
        serviceName: opts.name,
        taskDefinition: this.first,
        desiredCount: opts.desiredCount ?? 2,
        launchType: 'FARGATE',
        deploymentController: { type: opts.controller ?? 'ECS' },
        deploymentConfiguration: opts.configuration,
        tags: Object.entries(opts.sim ?? {}).map(([key, value]) => ({ key: `sim:${key}`, value })),
      }),
    );
    return created.service!;
  }

  /** Rolls the service onto revision 2 (or `taskDefinition`); returns UpdateService's answer. */
  async deploy(service: string, taskDefinition = this.second): Promise<Service> {
    const updated = await this.ecs.send(new UpdateServiceCommand({ cluster: this.cluster, service, taskDefinition }));
    return updated.service!;
  }

  async describeService(service: string): Promise<Service> {
    const found = await this.ecs.send(new DescribeServicesCommand({ cluster: this.cluster, services: [service] }));
    return found.services![0]!;
  }

  async describe(arn: string): Promise<ServiceDeployment> {
    const found = await this.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
    const deployment = found.serviceDeployments?.[0];
    if (deployment === undefined) throw new Error(`no service deployment ${arn}: ${JSON.stringify(found.failures)}`);
    return deployment;
  }

  /** Reads the deployment every few milliseconds until `done`; returns every answer read. */
  async watch(arn: string, done: (d: ServiceDeployment) => boolean, timeoutMs = 20_000): Promise<ServiceDeployment[]> {
    const seen: ServiceDeployment[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const deployment = await this.describe(arn);
      seen.push(deployment);
      if (done(deployment)) return seen;
      if (Date.now() > deadline) throw new Error(`${arn} still ${deployment.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Reads until the deployment has ended; returns the last answer. */
  async finished(arn: string): Promise<ServiceDeployment> {
    return (await this.watch(arn, (d) => !ONGOING.includes(d.status ?? ''))).pop()!;
  }

  /** Reads until a PAUSE hook awaits action; returns that hook's id and the deployment. */
  async awaiting(arn: string): Promise<{ hookId: string; deployment: ServiceDeployment }> {
    const isWaiting = (d: ServiceDeployment) => d.lifecycleHookDetails?.find((h) => h.status === 'AWAITING_ACTION');
    const deployment = (await this.watch(arn, (d) => isWaiting(d) !== undefined)).pop()!;
    return { hookId: isWaiting(deployment)!.hookId!, deployment };
  }

  destroy(): void {
    this.ecs.destroy();
  }
}

/** The distinct values of `pick` over the answers, in the order they first appeared. */
export function distinct<T>(seen: ServiceDeployment[], pick: (d: ServiceDeployment) => T | undefined): T[] {
  const values: T[] = [];
  for (const d of seen) {
    const value = pick(d);
    if (value !== undefined && values[values.length - 1] !== value) values.push(value);
  }
  return values;
}
