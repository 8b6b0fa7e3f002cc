/** ECS activities: read the target, register a revision, update the service, read the rollout, clean up. */
import {
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Service,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { log } from '@temporalio/activity';
import type { WorkerConfig } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import { TAG_DEPLOY_ID, TAG_SHA } from '../shared/names.js';
import type {
  CheckRolloutInput,
  DeregisterInput,
  DescribeTargetInput,
  DescribeTargetResult,
  RegisterInput,
  RegisterResult,
  RolloutSnapshot,
  StoppedTaskView,
  UpdateServiceInput,
  UpdateServiceResult,
} from '../shared/types.js';
import { ValidationError } from '../shared/validate.js';
import { AWS_CLIENT_RETRY, awsFailure, invalidInput, isAwsError, notFound } from './aws-errors.js';
import { loadTemplate, taskDefinitionDiff, toTemplate, validateFargateSize, withImage } from './ecs-taskdef.js';
import { interpretRollout, stoppedTaskViews } from './rollout.js';
import { sourceCheckouts } from './source.js';

interface ServiceRef {
  region: string;
  cluster: string;
  service: string;
}

/** Revisions a retry looks through for the one it registered before; it registered moments ago. */
const RECENT_REVISIONS = 10;

/** Clients are cached per region; the SDK reads AWS_ENDPOINT_URL and credentials from the environment. */
export function ecsActivities(config: WorkerConfig) {
  const checkouts = sourceCheckouts(config);
  const clients = new Map<string, ECSClient>();
  const ecsFor = (region: string): ECSClient => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new ECSClient({ region, ...AWS_CLIENT_RETRY });
      clients.set(region, client);
    }
    return client;
  };

  async function readService(ref: ServiceRef): Promise<Service> {
    const { region, cluster, service } = ref;
    let found: Service | undefined;
    try {
      const res = await ecsFor(region).send(new DescribeServicesCommand({ cluster, services: [service] }));
      found = res.services?.find((s) => s.serviceName === service || s.serviceArn === service);
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

  async function describeTaskDefinition(region: string, arn: string, withTags = false) {
    try {
      const res = await ecsFor(region).send(
        new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: withTags ? ['TAGS'] : undefined }),
      );
      if (res.taskDefinition === undefined) throw new Error('the answer has no taskDefinition');
      return { definition: res.taskDefinition, tags: res.tags ?? [] };
    } catch (err) {
      throw awsFailure(`describe task definition ${arn}`, err);
    }
  }

  /** The revision of `family` a previous attempt of this deploy registered, if any. */
  async function findRegistered(region: string, family: string, deployId: string): Promise<TaskDefinition | undefined> {
    let arns: string[];
    try {
      const res = await ecsFor(region).send(
        new ListTaskDefinitionsCommand({ familyPrefix: family, sort: 'DESC', maxResults: RECENT_REVISIONS }),
      );
      arns = res.taskDefinitionArns ?? [];
    } catch (err) {
      throw awsFailure(`list task definitions of family "${family}"`, err);
    }
    // familyPrefix is a prefix match on AWS; moto ignores sort and maxResults.
    const recent = arns
      .filter((arn) => familyOf(arn) === family)
      .sort((a, b) => revisionOf(b) - revisionOf(a))
      .slice(0, RECENT_REVISIONS);
    for (const arn of recent) {
      const { definition, tags } = await describeTaskDefinition(region, arn, true);
      if (tags.some((t) => t.key === TAG_DEPLOY_ID && t.value === deployId)) return definition;
    }
    return undefined;
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
    /** Checks that the cluster and service exist, and reads what the service runs now. */
    describeTarget: async (input: DescribeTargetInput): Promise<DescribeTargetResult> => {
      const service = await readService(input);
      const result: DescribeTargetResult = {
        serviceArn: service.serviceArn ?? '',
        taskDefinitionArn: service.taskDefinition ?? '',
        desiredCount: service.desiredCount ?? 0,
      };
      const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
      if (primary?.id !== undefined) result.primaryDeploymentId = primary.id;
      return result;
    },

    /** Registers the template with the new image, tagged with the deploy; a retry finds its earlier revision. */
    registerTaskDefinition: async (input: RegisterInput): Promise<RegisterResult> => {
      const source = input.taskDefinitionPath ?? input.currentTaskDefinitionArn;
      const action = `register a task definition from ${source}`;
      const { definition: current } = await describeTaskDefinition(input.region, input.currentTaskDefinitionArn);
      let template;
      try {
        const base = input.taskDefinitionPath
          ? await loadTemplate(await checkouts.ensure(input), input.taskDefinitionPath)
          : toTemplate(current);
        template = withImage(base, input.containerName, input.imageRef);
        validateFargateSize(template);
      } catch (err) {
        if (err instanceof ValidationError) throw invalidInput(action, err);
        throw err;
      }
      const family = template.family ?? '';
      const earlier = await findRegistered(input.region, family, input.deployId);
      if (earlier?.taskDefinitionArn !== undefined) {
        log.info('found the revision this deploy registered before', { taskDefinitionArn: earlier.taskDefinitionArn });
        return {
          taskDefinitionArn: earlier.taskDefinitionArn,
          created: false,
          diff: taskDefinitionDiff(current, earlier),
        };
      }
      const ours: Tag[] = [
        { key: TAG_SHA, value: input.sha },
        { key: TAG_DEPLOY_ID, value: input.deployId },
      ];
      const tags = [...(template.tags ?? []).filter((t) => t.key !== TAG_SHA && t.key !== TAG_DEPLOY_ID), ...ours];
      try {
        const res = await ecsFor(input.region).send(new RegisterTaskDefinitionCommand({ ...template, tags }));
        const registered = res.taskDefinition;
        if (registered?.taskDefinitionArn === undefined) throw new Error('the answer has no taskDefinitionArn');
        return {
          taskDefinitionArn: registered.taskDefinitionArn,
          created: true,
          diff: taskDefinitionDiff(current, registered),
        };
      } catch (err) {
        throw awsFailure(action, err);
      }
    },

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
        return result;
      }
      const { region, cluster, service: name, taskDefinitionArn } = input;
      try {
        const res = await ecsFor(region).send(
          new UpdateServiceCommand({ cluster, service: name, taskDefinition: taskDefinitionArn }),
        );
        const primary = res.service?.deployments?.find((d) => d.status === 'PRIMARY');
        const result: UpdateServiceResult = { previousTaskDefinitionArn: previous, changed: true };
        if (primary?.id !== undefined) result.deploymentId = primary.id;
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

    /** Marks the revision INACTIVE; one already INACTIVE, or gone, is fine. */
    deregisterTaskDefinition: async (input: DeregisterInput): Promise<void> => {
      const ecs = ecsFor(input.region);
      try {
        const res = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: input.taskDefinitionArn }));
        if (res.taskDefinition?.status === 'INACTIVE') return;
        await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: input.taskDefinitionArn }));
      } catch (err) {
        // AWS deletes INACTIVE revisions eventually; then there is nothing left to deregister.
        if (isAwsError(err, 'ClientException') && /unable to describe|inactive/i.test(errorMessage(err))) {
          log.info('task definition already gone', { taskDefinitionArn: input.taskDefinitionArn });
          return;
        }
        throw awsFailure(`deregister task definition ${input.taskDefinitionArn}`, err);
      }
    },
  };
}

export type EcsActivities = ReturnType<typeof ecsActivities>;

/** "arn:aws:ecs:r:a:task-definition/web:12" -> "web" */
function familyOf(arn: string): string {
  return arn.split('/').pop()?.split(':')[0] ?? '';
}

function revisionOf(arn: string): number {
  return Number(arn.split(':').pop());
}
