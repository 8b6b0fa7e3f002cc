/**
 * ECS activities on task definitions: register a deploy's revision (or reuse an identical earlier one), put an
 * earlier good revision back for a rollback, and retire revisions. Every revision carries the deploy's tags, so a
 * retry finds its own earlier work and a later deploy can tell what a revision was made from.
 */
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { log } from '@temporalio/activity';
import type { WorkerConfig } from '../worker/config.js';
import { errorMessage } from '../shared/errors.js';
import { TAG_DEPLOY_ID, TAG_SHA, TAG_TEMPLATE } from '../shared/names.js';
import type { DeregisterInput, RegisterInput, RegisterResult, RestoreRevisionInput } from '../shared/types.js';
import { ValidationError } from '../shared/validate.js';
import { awsFailure, invalidInput, isAwsError } from './aws-errors.js';
import { awsClients, type AwsClients } from './clients.js';
import {
  loadTemplate,
  taskDefinitionDiff,
  templateHash,
  toTemplate,
  validateFargateSize,
  withImageIn,
  type TaskDefinitionTemplate,
} from './ecs-taskdef.js';
import { sourceCheckouts, type SourceCheckouts } from './source.js';

/** Revisions a retry looks through for the one it registered before; it registered moments ago. */
const RECENT_REVISIONS = 10;

export function taskDefinitionActivities(
  config: WorkerConfig,
  clients: AwsClients = awsClients(),
  checkouts: SourceCheckouts = sourceCheckouts(config),
) {
  const ecsFor = (region: string) => clients.ecs(region);

  async function describe(region: string, arn: string): Promise<{ definition: TaskDefinition; tags: Tag[] }> {
    try {
      const res = await ecsFor(region).send(
        new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
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
      const { definition, tags } = await describe(region, arn);
      if (tagValue(tags, TAG_DEPLOY_ID) === deployId) return definition;
    }
    return undefined;
  }

  /** Registers `template` tagged with the deploy, unless a retry of this deploy registered it already. */
  async function registerTagged(opts: {
    region: string;
    template: TaskDefinitionTemplate;
    sha: string;
    deployId: string;
    current: TaskDefinition;
    action: string;
  }): Promise<RegisterResult> {
    const { region, template, current } = opts;
    const earlier = await findRegistered(region, template.family ?? '', opts.deployId);
    if (earlier?.taskDefinitionArn !== undefined) {
      log.info('found the revision this deploy registered before', { taskDefinitionArn: earlier.taskDefinitionArn });
      return {
        taskDefinitionArn: earlier.taskDefinitionArn,
        created: false,
        diff: taskDefinitionDiff(current, earlier),
      };
    }
    const ours: Tag[] = [
      { key: TAG_SHA, value: opts.sha },
      { key: TAG_DEPLOY_ID, value: opts.deployId },
      { key: TAG_TEMPLATE, value: templateHash(template) },
    ];
    const keep = (template.tags ?? []).filter((t) => !ours.some((o) => o.key === t.key));
    try {
      const res = await ecsFor(region).send(
        new RegisterTaskDefinitionCommand({ ...template, tags: [...keep, ...ours] }),
      );
      const registered = res.taskDefinition;
      if (registered?.taskDefinitionArn === undefined) throw new Error('the answer has no taskDefinitionArn');
      return {
        taskDefinitionArn: registered.taskDefinitionArn,
        created: true,
        diff: taskDefinitionDiff(current, registered),
      };
    } catch (err) {
      throw awsFailure(opts.action, err);
    }
  }

  return {
    /**
     * Registers the template with the new (pinned) image, tagged with the deploy. An ACTIVE revision an earlier
     * deploy of the same SHA registered from the same rendered template is reused instead.
     */
    registerTaskDefinition: async (input: RegisterInput): Promise<RegisterResult> => {
      const source = input.taskDefinitionPath ?? input.currentTaskDefinitionArn;
      const action = `register a task definition from ${source}`;
      const { definition: current } = await describe(input.region, input.currentTaskDefinitionArn);
      let template: TaskDefinitionTemplate;
      try {
        const base = input.taskDefinitionPath
          ? await loadTemplate(await checkouts.ensure(input), input.taskDefinitionPath)
          : toTemplate(current);
        template = withImageIn(base, input, input.imageRef);
        validateFargateSize(template);
      } catch (err) {
        if (err instanceof ValidationError) throw invalidInput(action, err);
        throw err;
      }
      if (input.reuseTaskDefinitionArn) {
        const { definition, tags } = await describe(input.region, input.reuseTaskDefinitionArn);
        const same =
          definition.status === 'ACTIVE' &&
          definition.family === template.family &&
          tagValue(tags, TAG_SHA) === input.sha &&
          tagValue(tags, TAG_TEMPLATE) === templateHash(template);
        if (same && definition.taskDefinitionArn) {
          return {
            taskDefinitionArn: definition.taskDefinitionArn,
            created: false,
            reused: true,
            diff: taskDefinitionDiff(current, definition),
          };
        }
        log.info('the earlier revision of this SHA cannot be reused', {
          taskDefinitionArn: input.reuseTaskDefinitionArn,
          status: definition.status,
        });
      }
      return await registerTagged({
        region: input.region,
        template,
        sha: input.sha,
        deployId: input.deployId,
        current,
        action,
      });
    },

    /** A rollback's revision: the earlier one itself while ACTIVE, else registered again from its definition. */
    restoreRevision: async (input: RestoreRevisionInput): Promise<RegisterResult> => {
      const { definition: current } = await describe(input.region, input.currentTaskDefinitionArn);
      const { definition } = await describe(input.region, input.taskDefinitionArn);
      if (definition.status === 'ACTIVE') {
        return {
          taskDefinitionArn: input.taskDefinitionArn,
          created: false,
          reused: true,
          diff: taskDefinitionDiff(current, definition),
        };
      }
      return await registerTagged({
        region: input.region,
        template: toTemplate(definition),
        sha: input.sha,
        deployId: input.deployId,
        current,
        action: `register ${input.taskDefinitionArn} again`,
      });
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

function tagValue(tags: Tag[], key: string): string | undefined {
  return tags.find((t) => t.key === key)?.value;
}

/** "arn:aws:ecs:r:a:task-definition/web:12" -> "web" */
function familyOf(arn: string): string {
  return arn.split('/').pop()?.split(':')[0] ?? '';
}

function revisionOf(arn: string): number {
  return Number(arn.split(':').pop());
}
