/** What ECS runs now, in the terms a deploy's result reports: pure, over DescribeServices and DescribeTaskDefinition answers. */
import type { Service, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import { TAG_SHA } from '../shared/names.js';
import type { ObservedImage, ObservedService } from '../shared/types.js';

export function observedService(
  service: Service,
  definition: TaskDefinition | undefined,
  tags: Tag[],
  readAt: Date,
): ObservedService {
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const taskDefinitionArn = primary?.taskDefinition ?? service.taskDefinition ?? '';
  const running = primary?.runningCount ?? service.runningCount ?? 0;
  const desired = primary?.desiredCount ?? service.desiredCount ?? 0;
  const completed = primary?.rolloutState === undefined || primary.rolloutState === 'COMPLETED';
  const observed: ObservedService = {
    readAt: readAt.toISOString(),
    taskDefinitionArn,
    images: (definition?.containerDefinitions ?? []).map((c) => imageOf(c.name ?? '', c.image ?? '')),
    running,
    desired,
    stable: deployments.length === 1 && completed && running === desired,
  };
  if (primary?.id !== undefined) observed.deploymentId = primary.id;
  if (primary?.rolloutState !== undefined) observed.rolloutState = primary.rolloutState;
  const sha = tags.find((t) => t.key === TAG_SHA)?.value;
  if (sha !== undefined) observed.sha = sha;
  return observed;
}

function imageOf(container: string, image: string): ObservedImage {
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
  return digest ? { container, image, digest } : { container, image };
}
