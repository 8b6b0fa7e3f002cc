/** ECS activities on the service: read the target and what it runs, update it, read the rollout. */
import {
  ListServiceDeploymentsCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  UpdateServiceCommand,
  type Service,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { log } from '@temporalio/activity';
import type { WorkerConfig } from '../worker/config.js';
import { errorMessage } from '../shared/errors.js';
import type {
  CheckRolloutInput,
  DescribeTargetInput,
  DescribeTargetResult,
  ObservedService,
  ObserveServiceInput,
  RolloutSnapshot,
  StoppedTaskView,
  UpdateServiceInput,
  UpdateServiceResult,
} from '../shared/types.js';
import { awsFailure, isAwsError, notFound } from './aws-errors.js';
import { awsClients, type AwsClients } from './clients.js';
import { taskDefinitionActivities } from './ecs-register.js';
import { sourceCheckouts, type SourceCheckouts } from './source.js';
import { observedService } from './observe.js';
import { interpretRollout, stoppedTaskViews } from './rollout.js';

interface ServiceRef {
  region: string;
  cluster: string;
  service: string;
}

export function ecsActivities(
  config: WorkerConfig,
  clients: AwsClients = awsClients(),
  checkouts: SourceCheckouts = sourceCheckouts(config),
) {
  const ecsFor = (region: string) => clients.ecs(region);

  async function readService(ref: ServiceRef): Promise<Service> {
    const { region, cluster, service } = ref;
    let found: Service | undefined;
    try {
      // Batched with other deploys' reads of the same cluster, as the waits' are.
      found = await clients.reader.service(region, cluster, service);
    } catch (err) {
      if (isAwsError(err, 'ClusterNotFoundException')) {
        throw notFound('cluster', `ECS cluster "${cluster}" not found in ${region}; fix ECS_CLUSTER`);
      }
      throw awsFailure(`describe ECS service "${service}" in cluster "${cluster}"`, err);
    }
    // A deleted service lingers as INACTIVE (then DRAINING) before it disappears.
    if (found === undefined || found.status !== 'ACTIVE') {
      const state = found === undefined ? 'not found' : `is ${found.status ?? 'gone'}`;
      throw notFound(
        'service',
        `ECS service "${service}" ${state} in cluster "${cluster}" (${region}); fix ECS_SERVICE`,
      );
    }
    return found;
  }

  /** The service and the revision its PRIMARY deployment runs, with that revision's tags. */
  async function observe(ref: ServiceRef, service?: Service): Promise<ObservedService> {
    const read = service ?? (await readService(ref));
    const readAt = new Date();
    const arn = read.deployments?.find((d) => d.status === 'PRIMARY')?.taskDefinition ?? read.taskDefinition;
    let definition: TaskDefinition | undefined;
    let tags: Tag[] = [];
    if (arn) {
      try {
        const res = await ecsFor(ref.region).send(
          new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
        );
        definition = res.taskDefinition;
        tags = res.tags ?? [];
      } catch (err) {
        throw awsFailure(`describe task definition ${arn}`, err);
      }
    }
    const observed = observedService(read, definition, tags, readAt);
    const current = read.currentServiceDeployment;
    if (current) {
      observed.serviceDeploymentArn = current;
      const status = (await clients.reader.serviceDeployment(ref.region, current).catch(() => undefined))?.status;
      if (status) observed.serviceDeploymentStatus = status;
    }
    return observed;
  }

  /**
   * The service deployment an update created: ECS names it in the answer (currentServiceDeployment); an older
   * answer without it is looked up among the service's deployments created since just before the update.
   */
  async function createdDeployment(
    ref: ServiceRef,
    answer: Service | undefined,
    since: Date,
  ): Promise<string | undefined> {
    if (answer?.currentServiceDeployment) return answer.currentServiceDeployment;
    try {
      const listed = await ecsFor(ref.region).send(
        new ListServiceDeploymentsCommand({ cluster: ref.cluster, service: ref.service, createdAt: { after: since } }),
      );
      return listed.serviceDeployments?.[0]?.serviceDeploymentArn;
    } catch (err) {
      // Regions or partitions without the API: the rolling view in deployments[] is followed instead.
      log.info('no service deployment to follow', { error: errorMessage(err) });
      return undefined;
    }
  }

  /** Why the rollout's tasks stopped. Only an explanation, so a failure to read them is logged, not thrown. */
  async function stoppedTasks(input: CheckRolloutInput): Promise<StoppedTaskView[]> {
    const { region, cluster, service } = input;
    try {
      const ecs = ecsFor(region);
      const listed = await ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'STOPPED' }));
      const arns = (listed.taskArns ?? []).slice(0, 100);
      if (arns.length === 0) return [];
      const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
      return stoppedTaskViews(described.tasks ?? [], input.taskDefinitionArn);
    } catch (err) {
      log.warn('could not read stopped tasks', { service, cluster, error: errorMessage(err) });
      return [];
    }
  }

  return {
    ...taskDefinitionActivities(config, clients, checkouts),

    /** Checks that the cluster and service exist, and reads what the service runs now. */
    describeTarget: async (input: DescribeTargetInput): Promise<DescribeTargetResult> => {
      const service = await readService(input);
      const result: DescribeTargetResult = {
        serviceArn: service.serviceArn ?? '',
        taskDefinitionArn: service.taskDefinition ?? '',
        desiredCount: service.desiredCount ?? 0,
        observed: await observe(input, service),
        controller: service.deploymentController?.type ?? 'ECS',
        strategy: service.deploymentConfiguration?.strategy ?? 'ROLLING',
      };
      const pauses = (service.deploymentConfiguration?.lifecycleHooks ?? [])
        .filter((h) => h.targetType === 'PAUSE')
        .flatMap((h) => h.lifecycleStages ?? []);
      if (pauses.length > 0) result.pauseStages = [...new Set(pauses)];
      const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
      if (primary?.id !== undefined) result.primaryDeploymentId = primary.id;
      return result;
    },

    /** A fresh reading of what the service runs, taken before a deploy reports how it ended. */
    observeService: async (input: ObserveServiceInput): Promise<ObservedService> => await observe(input),

    /** Points the service at the revision; a retry that finds it already there does not update again. */
    updateService: async (input: UpdateServiceInput): Promise<UpdateServiceResult> => {
      const service = await readService(input);
      const previous = service.taskDefinition ?? '';
      if (previous === input.taskDefinitionArn) {
        const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
        // Mid-rollout, the draining deployment still names the revision this update replaced.
        const draining = service.deployments?.find((d) => d.status === 'ACTIVE');
        const result: UpdateServiceResult = {
          previousTaskDefinitionArn: draining?.taskDefinition ?? previous,
          changed: false,
        };
        if (primary?.id !== undefined) result.deploymentId = primary.id;
        if (service.currentServiceDeployment) result.serviceDeploymentArn = service.currentServiceDeployment;
        return result;
      }
      const { region, cluster, service: name, taskDefinitionArn } = input;
      // ECS timestamps are whole seconds; a little before now still excludes every earlier deployment.
      const since = new Date(Date.now() - 1_000);
      try {
        const res = await ecsFor(region).send(
          new UpdateServiceCommand({ cluster, service: name, taskDefinition: taskDefinitionArn }),
        );
        const primary = res.service?.deployments?.find((d) => d.status === 'PRIMARY');
        const result: UpdateServiceResult = { previousTaskDefinitionArn: previous, changed: true };
        if (primary?.id !== undefined) result.deploymentId = primary.id;
        const created = await createdDeployment(input, res.service, since);
        if (created) result.serviceDeploymentArn = created;
        return result;
      } catch (err) {
        throw awsFailure(`update ECS service "${name}" in cluster "${cluster}" to ${taskDefinitionArn}`, err);
      }
    },

    /** One reading of the rollout; the workflow polls with durable timers. */
    checkRollout: async (input: CheckRolloutInput): Promise<RolloutSnapshot> => {
      const service = await readService(input);
      const snapshot = interpretRollout(service, input);
      if (snapshot.state === 'failed' || snapshot.state === 'rolled_back') {
        snapshot.stoppedTasks = await stoppedTasks(input);
      }
      return snapshot;
    },
  };
}

export type EcsActivities = ReturnType<typeof ecsActivities>;
