/** Whether the service runs what a deploy put there. Pure: the workflow decides its ending with it. */
import type { ObservedService } from './types.js';

/**
 * Whether the service runs what a deploy put there: its revision is PRIMARY, and the container's image is the
 * pinned digest. Returns why not, or undefined when it does.
 */
export function mismatch(
  observed: ObservedService,
  want: { taskDefinitionArn: string; containerName: string; imageDigest?: string },
): string | undefined {
  if (observed.taskDefinitionArn !== want.taskDefinitionArn) {
    const who = observed.sha ? `, deployed from ${observed.sha.slice(0, 12)}` : ', not registered by a deploy';
    return `ECS moved on: the PRIMARY deployment runs ${observed.taskDefinitionArn || 'nothing'}${who}`;
  }
  const image = observed.images.find((i) => i.container === want.containerName);
  if (want.imageDigest && image?.digest !== want.imageDigest) {
    return `the running revision's ${want.containerName} image is ${image?.image ?? 'missing'}, not ${want.imageDigest}`;
  }
  return undefined;
}
