/** Names shared by the workflow, the worker, the CLI and the tests. */

export const DEFAULT_TASK_QUEUE = 'ecs-deploy';
export const DEFAULT_NAMESPACE = 'default';
export const WORKFLOW_TYPE = 'deploy';
/** The per-service workflow that orders the deploys of one service. */
export const QUEUE_WORKFLOW_TYPE = 'serviceQueue';

/** The task queue of watchRollout, beside a deploy queue: its worker takes many long, light waits at once. */
export function watchQueue(taskQueue: string): string {
  return `${taskQueue}.watch`;
}

/** Custom search attributes; the local stack registers them, production must too (see docs/production.md). */
export const SEARCH_ATTRIBUTES = {
  service: 'DeployService',
  sha: 'DeploySha',
  stage: 'DeployStage',
  status: 'DeployStatus',
} as const;

/** Tags written on every task-definition revision a deploy registers, so a retry finds its own earlier work. */
export const TAG_SHA = 'deploy:sha';
export const TAG_DEPLOY_ID = 'deploy:id';
/** The sha256 of the rendered template (image pinned by digest): equal tags mean an equal definition. */
export const TAG_TEMPLATE = 'deploy:template';

/** Image labels written by the package step. */
export const LABEL_DEPLOY_ID = 'deploy.id';
/** The sha256 of the binary the image holds: the one the build produced and the tests ran. */
export const LABEL_BINARY_SHA256 = 'deploy.binary-sha256';

/**
 * Dots separate the parts: ECS names cannot hold one, so no two (region, cluster, service) share a queue.
 * `deploy-queue.us-east-1.prod.web`
 */
export function queueWorkflowId(target: { region: string; cluster: string; service: string }): string {
  return `deploy-queue.${target.region}.${target.cluster}.${target.service}`;
}

/**
 * One id per request, from the queue's counter and the whole SHA, so two SHAs with a common prefix never meet:
 * `deploy.prod.web.<40-hex sha>.7`
 */
export function deployWorkflowId(cluster: string, service: string, sha: string, seq: number): string {
  return `deploy.${cluster}.${service}.${sha}.${seq}`;
}

/** `<registry>/<repository>@sha256:…` from `<registry>/<repository>:<tag>` and a digest. */
export function pinnedImageRef(imageRef: string, digest: string): string {
  const slash = imageRef.lastIndexOf('/');
  const colon = imageRef.lastIndexOf(':');
  const repo = colon > slash ? imageRef.slice(0, colon) : imageRef;
  return `${repo.split('@')[0]}@${digest}`;
}
