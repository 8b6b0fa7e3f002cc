/**
 * Renders the task definition a deploy of a SHA would register (the template at the SHA, the SHA's image), and
 * diffs it against the revision the service runs. Only reads: DescribeServices, DescribeTaskDefinition, the
 * registry's manifest, and a private checkout that is removed before returning.
 */
import { DescribeTaskDefinitionCommand, type TaskDefinition } from '@aws-sdk/client-ecs';
import { rm } from 'node:fs/promises';
import type { WorkerConfig } from '../worker/config.js';
import { pinnedImageRef } from '../shared/names.js';
import type { RenderResult, RenderTemplateInput } from '../shared/render.js';
import { ValidationError, validateSha, validateTarget } from '../shared/validate.js';
import { awsFailure, invalidInput } from './aws-errors.js';
import { awsClients, type AwsClients } from './clients.js';
import { ecrActivities, getRegistryAuth } from './ecr.js';
import { ecsActivities } from './ecs.js';
import {
  loadTemplate,
  taskDefinitionDiff,
  toTemplate,
  validateFargateSize,
  withImageIn,
  type TaskDefinitionTemplate,
} from './ecs-taskdef.js';
import { checked } from './input.js';
import { readRecipe } from './recipe.js';
import { readImage } from './registry-api.js';
import { sourceCheckouts, workspaceFor, type SourceCheckouts } from './source.js';

/**
 * The template as ECS would store it: RegisterTaskDefinition fills in values a template may leave out (a container's
 * cpu 0, essential true, and under awsvpc or host networking each hostPort equal to its containerPort). Diffing the
 * template as written against a registered revision would show those as changes that are none.
 */
export function asRegistered(template: TaskDefinitionTemplate): TaskDefinitionTemplate {
  const out = structuredClone(template);
  const samePorts = out.networkMode === 'awsvpc' || out.networkMode === 'host';
  for (const container of out.containerDefinitions ?? []) {
    container.cpu ??= 0;
    container.essential ??= true;
    if (samePorts) for (const port of container.portMappings ?? []) port.hostPort ??= port.containerPort;
  }
  return out;
}

export function renderActivities(
  config: WorkerConfig,
  clients: AwsClients = awsClients(),
  checkouts: SourceCheckouts = sourceCheckouts(config),
) {
  const { observeService } = ecsActivities(config, clients);
  const { checkImageDigest } = ecrActivities(config, clients);

  async function describe(region: string, arn: string): Promise<TaskDefinition> {
    try {
      const res = await clients.ecs(region).send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      if (res.taskDefinition === undefined) throw new Error('the answer has no taskDefinition');
      return res.taskDefinition;
    } catch (err) {
      throw awsFailure(`describe task definition ${arn}`, err);
    }
  }

  /** The SHA's image as a deploy would pin it, when the registry holds it; else its tag. */
  async function imageOf(region: string, repository: string, sha: string): Promise<{ ref: string; pinned: boolean }> {
    const auth = await getRegistryAuth({ region, ecr: clients.ecr(region) });
    const registry = config.registry ?? auth.registry;
    const tagged = `${registry}/${repository}:${sha}`;
    const found = await readImage({ auth, registry, repository, tag: sha, insecure: config.registryInsecure });
    return found ? { ref: pinnedImageRef(tagged, found.digest), pinned: true } : { ref: tagged, pinned: false };
  }

  return {
    renderTemplate: async (input: RenderTemplateInput): Promise<RenderResult> => {
      const sha = checked(() => validateSha(input.sha));
      const target = checked(() => validateTarget(input.target));
      const observed = await observeService(target);
      const current = await describe(target.region, observed.taskDefinitionArn);
      // Image mode: the digest must be in the repository already, as the deploy's validate stage requires.
      const image = input.imageDigest
        ? {
            ref: (await checkImageDigest({ ...target, imageDigest: input.imageDigest })).imageRef,
            pinned: true,
          }
        : await imageOf(target.region, target.repository, sha);
      const source = target.taskDefinitionPath ?? observed.taskDefinitionArn;
      const action = `render a task definition from ${source} at ${sha.slice(0, 12)}`;
      try {
        let base = toTemplate(current);
        let containerNames: string[] | undefined;
        // Image mode reads no recipe (its deploy checks nothing out to build); every other deploy does.
        if (target.taskDefinitionPath || !input.imageDigest) {
          const workspace = await checkouts.ensure({ sha, deployId: input.workspaceId });
          try {
            if (target.taskDefinitionPath) base = await loadTemplate(workspace, target.taskDefinitionPath);
            if (!input.imageDigest) containerNames = (await readRecipe(workspace, target.recipePath))?.containers;
          } finally {
            await rm(workspaceFor(config, input.workspaceId), { recursive: true, force: true });
          }
        }
        const rendered = withImageIn(base, { containerName: target.containerName, containerNames }, image.ref);
        validateFargateSize(rendered);
        return {
          sha,
          cluster: target.cluster,
          service: target.service,
          currentTaskDefinitionArn: observed.taskDefinitionArn,
          template: target.taskDefinitionPath ?? `the running revision ${observed.taskDefinitionArn}`,
          imageRef: image.ref,
          imagePinned: image.pinned,
          diff: taskDefinitionDiff(current, asRegistered(rendered)),
          taskDefinition: rendered as unknown as Record<string, unknown>,
        };
      } catch (err) {
        if (err instanceof ValidationError) throw invalidInput(action, err);
        throw err;
      }
    },
  };
}
